package dev.stride.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import static dev.stride.engine.cpu.OnnxOpKernels.L;
import static dev.stride.engine.cpu.OnnxOpKernels.S;

/**
 * Float vector log, exp and powers built from adds, multiplies, fmas, compares and bit operations only (Cephes'
 * logf/expf polynomials, within about 2 ulp), because the Vector API's LOG, EXP and POW are not reproducible:
 * compiled code calls the platform's vector math library while the interpreter and C1 compute each lane with
 * Math, and the two differ in the last bit. A kernel whose early runs are interpreted and later runs compiled, or
 * whose worker threads reach C2 at different times, would then give different bits for the same input (seen:
 * LRN and Lp pooling differed between 1 and 2 threads). IEEE basic operations round the same everywhere.
 */
final class OnnxVectorMath {
    private OnnxVectorMath() {}

    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float LOG2E = 1.44269504088896341f;
    private static final float ROUND = 12582912f;        // 1.5 * 2^23: adding it rounds |v| < 2^22 to an integer
    private static final int ROUND_BITS = Float.floatToRawIntBits(ROUND);
    private static final float SQRT_HALF = 0.707106781186547524f;

    /** ln x for x >= 0: -inf at 0, +inf at +inf, NaN for NaN (negative x is never asked for). */
    static FloatVector log(FloatVector x) {
        VectorMask<Float> tiny = x.compare(VectorOperators.LT, Float.MIN_NORMAL);
        FloatVector v = x.blend(x.mul(8388608f), tiny);                        // subnormals scaled by 2^23
        IntVector bits = v.reinterpretAsInts();
        // The biased exponent E as a float without an int-to-float conversion (not intrinsified here: log ran ~4x
        // slower with it): the bits 0x4B000000 | E are the float 2^23 + E.
        FloatVector e = bits.lanewise(VectorOperators.LSHR, 23).and(0xff).or(0x4B000000).reinterpretAsFloats()
                .sub(8388608f + 126f);
        e = e.blend(e.sub(23f), tiny);
        FloatVector m = bits.and(0x807fffff).or(0x3f000000).reinterpretAsFloats();   // mantissa in [0.5, 1)
        VectorMask<Float> low = m.compare(VectorOperators.LT, SQRT_HALF);
        e = e.blend(e.sub(1f), low);
        m = m.blend(m.add(m), low).sub(1f);                                   // m in [sqrt(1/2) - 1, sqrt(2) - 1)
        FloatVector z = m.mul(m);
        FloatVector y = logPolynomial(m).mul(m).mul(z);
        y = e.fma(FloatVector.broadcast(S, LN2_LO), y);
        y = z.fma(FloatVector.broadcast(S, -0.5f), y);
        FloatVector r = e.fma(FloatVector.broadcast(S, LN2_HI), m.add(y));
        r = r.blend(Float.NEGATIVE_INFINITY, x.compare(VectorOperators.EQ, 0f));
        r = r.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.EQ, Float.POSITIVE_INFINITY));
        return r.blend(x, x.test(VectorOperators.IS_NAN));
    }

    /**
     * Cephes' logf polynomial in m. A method of its own to keep {@link #log} under C2's inlining size (325
     * bytecodes): a log that is not inlined into its caller takes and returns its vectors boxed, ~16 bytes of
     * garbage per float and several times slower.
     */
    private static FloatVector logPolynomial(FloatVector m) {
        return m.fma(7.0376836292E-2f, -1.1514610310E-1f).fma(m, FloatVector.broadcast(S, 1.1676998740E-1f))
                .fma(m, FloatVector.broadcast(S, -1.2420140846E-1f)).fma(m, FloatVector.broadcast(S, 1.4249322787E-1f))
                .fma(m, FloatVector.broadcast(S, -1.6668057665E-1f)).fma(m, FloatVector.broadcast(S, 2.0000714765E-1f))
                .fma(m, FloatVector.broadcast(S, -2.4999993993E-1f)).fma(m, FloatVector.broadcast(S, 3.3333331174E-1f));
    }

    /** e^x: 0 below about -104 (the subnormal range ends), +inf above about 88.7, NaN for NaN. */
    static FloatVector exp(FloatVector x) {
        FloatVector c = x.max(-104f).min(88.8f);                              // NaN stays NaN (Math.max/min)
        FloatVector t = c.fma(LOG2E, ROUND);
        FloatVector n = t.sub(ROUND);                                          // round(c log2 e)
        IntVector k = t.reinterpretAsInts().sub(ROUND_BITS);                   // the same integer, as an int
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), c);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector z = r.mul(r);
        FloatVector y = r.fma(1.9875691500E-4f, 1.3981999507E-3f).fma(r, FloatVector.broadcast(S, 8.3334519073E-3f))
                .fma(r, FloatVector.broadcast(S, 4.1665795894E-2f)).fma(r, FloatVector.broadcast(S, 1.6666665459E-1f))
                .fma(r, FloatVector.broadcast(S, 5.0000001201E-1f)).fma(z, r).add(1f);
        // 2^k as two normal factors 2^(k>>1) and 2^(k - (k>>1)), k in [-150, 129], so neither over- or underflows.
        IntVector half = k.lanewise(VectorOperators.ASHR, 1);
        FloatVector s1 = half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = k.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector result = y.mul(s1).mul(s2);
        return result.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, 88.72283f)).blend(x, x.test(VectorOperators.IS_NAN));
    }

    /**
     * {@code a[from, from + len) = a^e} in place, for a >= 0 (0^e is 0 for e > 0, +inf for e < 0). Whole vectors
     * go through {@link #log}, a multiply and {@link #exp}, in two loops: log and exp inlined into one loop body
     * exceed C2's node budget for inlining (NodeCountInliningCutoff), and a vector function that is not inlined
     * takes and returns its vectors boxed, several times slower. Taking arrays keeps vectors off every call
     * boundary. The tail and the scalar path use Math.pow, which is reproducible too.
     */
    static void pow(float[] a, int from, int len, double e, boolean simd) {
        int whole = simd ? len - len % L : 0;
        if (whole > 0) {
            logTimes(a, from, whole, (float) e);
            exp(a, from, whole);
        }
        for (int j = from + whole; j < from + len; j++) a[j] = (float) Math.pow(a[j], e);
    }

    /** {@code a = e * ln a} over whole vectors. */
    private static void logTimes(float[] a, int from, int len, float e) {
        for (int j = from; j < from + len; j += L) log(FloatVector.fromArray(S, a, j)).mul(e).intoArray(a, j);
    }

    /** {@code a = e^a} over whole vectors. */
    private static void exp(float[] a, int from, int len) {
        for (int j = from; j < from + len; j += L) exp(FloatVector.fromArray(S, a, j)).intoArray(a, j);
    }
}
