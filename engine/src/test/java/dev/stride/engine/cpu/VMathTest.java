package dev.stride.engine.cpu;

import dev.stride.engine.cpu.ElementwiseKernels.VMath;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The vector exp, expm1, log, log1p (on [0, 1]), tanh, sigmoid and softplus against java.lang.Math in double: at most a few units in the last
 * place over their ranges (dense near the points where they cancel or saturate), and the special values.
 */
class VMathTest {
    private static final VectorSpecies<Float> S = VectorConfig.SPECIES;

    /** The largest error in float ulps of the exact result, over {@code xs}. */
    private static double maxUlps(float[] xs, UnaryOperator<FloatVector> f, DoubleUnaryOperator exact, String name) {
        int n = xs.length - xs.length % S.length();
        float[] y = new float[n];
        for (int i = 0; i < n; i += S.length()) f.apply(FloatVector.fromArray(S, xs, i)).intoArray(y, i);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            double want = exact.applyAsDouble(xs[i]);
            if (Double.isNaN(want) || Double.isInfinite((float) want) || (float) want == 0) {
                if (Double.compare(y[i], (float) want) != 0 && !(y[i] == 0 && (float) want == 0))
                    fail(name + "(" + xs[i] + ") = " + y[i] + ", want " + (float) want);
                continue;
            }
            double ulps = Math.abs(y[i] - want) / Math.ulp((float) want);
            if (ulps > worst) worst = ulps;
        }
        return worst;
    }

    private static float[] uniform(long seed, int n, double lo, double hi) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (lo + (hi - lo) * r.nextDouble());
        return x;
    }

    /** log-uniform magnitudes in [2^lo, 2^hi], random signs when {@code signed}. */
    private static float[] magnitudes(long seed, int n, int lo, int hi, boolean signed) {
        Random r = new Random(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            float v = (float) Math.scalb(1 + r.nextDouble(), lo + r.nextInt(hi - lo));
            x[i] = signed && r.nextBoolean() ? -v : v;
        }
        return x;
    }

    @Test
    void expIsWithinTwoUlpsUpToOverflowAndFlushesBelow2ToTheMinus125() {
        assertTrue(maxUlps(uniform(1, 1 << 16, -86.9, 88.7), VMath::exp, Math::exp, "exp") <= 2);
        assertTrue(maxUlps(uniform(2, 1 << 12, -1, 1), VMath::exp, Math::exp, "exp") <= 2);
        // Overflow, underflow and the special values.
        float[] edge = {89f, 200f, Float.POSITIVE_INFINITY, -104f, -1000f, Float.NEGATIVE_INFINITY, Float.NaN, 0f,
                -0f, 88.72f, -86.8f, 1e-30f, -1e-30f, 1f, -1f, 10f};
        maxUlps(edge, VMath::exp, Math::exp, "exp");
        float[] y = new float[S.length()];
        VMath.exp(FloatVector.broadcast(S, -87f)).intoArray(y, 0);
        assertEquals(0f, y[0], "flushed: e^-87 = 1.6e-38 is below 2^-125");
    }

    @Test
    void expm1IsAccurateNearZeroAndOnItsWholeRange() {
        assertTrue(maxUlps(magnitudes(3, 1 << 14, -40, 0, true), VMath::expm1, Math::expm1, "expm1") <= 2);
        assertTrue(maxUlps(uniform(4, 1 << 16, -30, 88.7), VMath::expm1, Math::expm1, "expm1") <= 2);
        float[] edge = {-100f, -87.5f, 88.5f, 100f, Float.NaN, 0f, -0f, 1e-30f, -1e-30f, 0.3466f, -0.3466f, 0.35f,
                -0.35f, 1f, -1f, Float.NEGATIVE_INFINITY};
        maxUlps(edge, VMath::expm1, Math::expm1, "expm1");
    }

    @Test
    /** logNormal with the bits of x as the LOG kernel passes them (loaded as ints). */
    private static FloatVector logNormal(FloatVector x) {
        int[] bits = new int[S.length()];
        float[] lanes = x.toArray();
        for (int i = 0; i < bits.length; i++) bits[i] = Float.floatToRawIntBits(lanes[i]);
        return VMath.logNormal(x, IntVector.fromArray(ElementwiseKernels.I, bits, 0));
    }

    @Test
    void logIsWithinTwoUlpsOverTheNormalFloats() {
        assertTrue(maxUlps(magnitudes(5, 1 << 16, -126, 127, false), VMathTest::logNormal, Math::log, "log") <= 2);
        assertTrue(maxUlps(uniform(6, 1 << 14, 0.5, 2), VMathTest::logNormal, Math::log, "log") <= 2);
        float[] edge = {Float.MAX_VALUE, 1f, 0x1p-126f, 2f, 0.70710677f, 0.7071068f, 1.4142135f, 1.4142137f,
                1.5f, 3f, 1e-30f, 1e30f, 0.999999f, 1.000001f, 0.5f, 4f};
        maxUlps(edge, VMathTest::logNormal, Math::log, "log");
    }

    @Test
    void abnormalMarksExactlyTheLanesLogNormalDoesNotCover() {
        float[] x = {0f, -0f, -1f, Float.NaN, Float.POSITIVE_INFINITY, Float.MIN_VALUE, 0x1p-127f, Float.NEGATIVE_INFINITY,
                0x1p-126f, 1f, Float.MAX_VALUE, 3f, 1e-30f, 0.5f, 2f, 7f};
        for (int i = 0; i < x.length; i += S.length()) {
            var m = VMath.abnormal(FloatVector.fromArray(S, x, i));
            for (int k = 0; k < S.length(); k++) assertEquals(i + k < 8, m.laneIsSet(k), "lane " + (i + k) + ": " + x[i + k]);
        }
    }

    @Test
    void log1pOnTheUnitIntervalIsWithinThreeUlps() {
        assertTrue(maxUlps(magnitudes(7, 1 << 14, -60, 0, false), VMath::log1pUnit, Math::log1p, "log1p") <= 3);
        assertTrue(maxUlps(uniform(8, 1 << 14, 0, 1), VMath::log1pUnit, Math::log1p, "log1p") <= 3);
        float[] edge = new float[16];
        edge[1] = 1f;
        edge[2] = Float.MIN_VALUE;
        edge[3] = 0x1p-126f;
        maxUlps(edge, VMath::log1pUnit, Math::log1p, "log1p");
    }

    @Test
    void tanhIsWithinThreeUlpsAndSaturates() {
        assertTrue(maxUlps(uniform(9, 1 << 16, -10, 10), VMath::tanh, Math::tanh, "tanh") <= 3);
        assertTrue(maxUlps(magnitudes(10, 1 << 14, -40, 1, true), VMath::tanh, Math::tanh, "tanh") <= 3);
        float[] edge = {0f, -0f, 0.625f, -0.625f, 0.62499994f, 9f, 20f, -20f, 100f, Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, Float.NaN, 1e-30f, -1e-30f, 0x1p-140f, 1f};
        maxUlps(edge, VMath::tanh, Math::tanh, "tanh");
        float[] y = new float[S.length()];
        VMath.tanh(FloatVector.broadcast(S, -0f)).intoArray(y, 0);
        assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(y[0]), "tanh(-0) = -0");
    }

    @Test
    void sigmoidAndSoftplusAreWithinThreeUlps() {
        DoubleUnaryOperator sigmoid = x -> x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
        assertTrue(maxUlps(uniform(11, 1 << 16, -80, 80), VMath::sigmoid, sigmoid, "sigmoid") <= 3);
        DoubleUnaryOperator softplus = x -> Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0);
        assertTrue(maxUlps(uniform(12, 1 << 16, -80, 80), VMath::softplus, softplus, "softplus") <= 3);
        assertTrue(maxUlps(uniform(13, 1 << 14, -2, 2), VMath::softplus, softplus, "softplus") <= 3);
    }
}
