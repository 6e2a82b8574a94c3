package dev.stride.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector operations whose bits do not depend on the JIT tier that runs them, for kernels whose results must not
 * depend on the thread count (a share run by a worker whose code is still interpreted or C1-compiled must give the
 * bits C2's code gives). Two Vector API operations fail that, measured here with the interpreter against C2 on
 * random data: {@link VectorOperators#EXP} (interpreted, {@code (float) Math.exp} per lane; compiled, an SVML
 * routine; they differ in about 4% of lanes) and {@code reduceLanes(ADD)} on floats (interpreted, lanes added in
 * order; compiled, a tree; different in about 44% of sums). Lanewise arithmetic, FMA, min/max, comparisons,
 * blends, conversions and shuffles are exact IEEE operations and agree.
 *
 * <p>{@link #sum} adds lanes in a fixed tree of shuffles and lanewise adds.
 *
 * <p>{@link #exp}: built from additions, multiplications, FMAs, conversions and shifts only, with a vector and a
 * scalar form that give the same bits for the same input. Cephes' expf: {@code exp(x) = 2^n exp(r)}, {@code n = round(x / ln 2)}, {@code r = x - n ln 2} in two parts,
 * a degree-6 polynomial for {@code exp(r)} on [-ln2/2, ln2/2], 2^n built in the exponent bits. Within about 1 ulp
 * of the true value. Inputs are clamped to [-87.3, 88.37]: below, 0 is returned (the true value is under the
 * smallest normal float); NaN stays NaN.
 */
final class TierStableMath {
    private TierStableMath() {}

    private static final VectorSpecies<Float> S = PoolKernels.S;   // a constant: see PoolKernels.S

    private static final int LANES = S.length();
    private static final VectorShuffle<Float> ROTATE_8 = VectorShuffle.fromOp(S, i -> (i + 8) % LANES),
            ROTATE_4 = VectorShuffle.fromOp(S, i -> (i + 4) % LANES), ROTATE_2 = VectorShuffle.fromOp(S, i -> (i + 2) % LANES),
            ROTATE_1 = VectorShuffle.fromOp(S, i -> (i + 1) % LANES);

    /**
     * The sum of the lanes, in a fixed order: lane i plus lane i + L/2, then the same on the halves, and so on.
     * (The shuffles are separate static finals, not an array: a shuffle must be a constant for C2 to intrinsify.)
     */
    static float sum(FloatVector v) {
        if (LANES >= 16) v = v.add(v.rearrange(ROTATE_8));
        if (LANES >= 8) v = v.add(v.rearrange(ROTATE_4));
        if (LANES >= 4) v = v.add(v.rearrange(ROTATE_2));
        v = v.add(v.rearrange(ROTATE_1));
        return v.lane(0);
    }

    private static final float HI = 88.37f, LO = -87.3f;   // keep 2^n normal: -126 <= n <= 127
    private static final float LOG2E = 1.44269504088896341f;
    private static final float C1 = 0.693359375f, C2 = -2.12194440e-4f;   // ln 2 = C1 + C2, C1 exact in few bits
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    static float exp(float x) {
        if (x < LO) return 0f;
        x = Math.min(x, HI);
        float fx = Math.fma(x, LOG2E, 0.5f);
        float n = (float) (int) fx;                       // truncation, then floor for negatives
        if (n > fx) n -= 1f;
        float r = Math.fma(n, -C1, x);
        r = Math.fma(n, -C2, r);
        float p = Math.fma(P0, r, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        float y = Math.fma(p, r * r, r) + 1f;
        return y * Float.intBitsToFloat(((int) n + 127) << 23);
    }

    static FloatVector exp(FloatVector x) {
        var below = x.compare(VectorOperators.LT, LO);    // those lanes compute garbage, replaced by 0 at the end
        x = x.min(HI);
        FloatVector fx = x.fma(LOG2E, 0.5f);
        FloatVector n = (FloatVector) fx.convert(VectorOperators.F2I, 0).convert(VectorOperators.I2F, 0);
        n = n.sub(1f, n.compare(VectorOperators.GT, fx));
        FloatVector r = n.fma(FloatVector.broadcast(S, -C1), x);
        r = n.fma(FloatVector.broadcast(S, -C2), r);
        FloatVector p = r.fma(P0, P1);
        p = p.fma(r, FloatVector.broadcast(S, P2));
        p = p.fma(r, FloatVector.broadcast(S, P3));
        p = p.fma(r, FloatVector.broadcast(S, P4));
        p = p.fma(r, FloatVector.broadcast(S, P5));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        IntVector bits = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return y.mul(bits.reinterpretAsFloats()).blend(0f, below);
    }
}
