package dev.stride.engine.cpu;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** exp's vector lanes equal its scalar form bit for bit and stay within 2 ulp of Math.exp; the lane sum's order. */
class TierStableMathTest {
    private static final int L = PoolKernels.S.length();

    @Test
    void expVectorEqualsScalarAndIsWithinTwoUlp() {
        Random r = new Random(3);
        float[] x = new float[L * 20000], y = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            // Mostly the softmax range [-30, 0], some of the whole domain and beyond it.
            x[i] = switch (i % 4) {
                case 0, 1 -> -30 * r.nextFloat();
                case 2 -> r.nextFloat() * 176 - 88;
                default -> r.nextFloat() * 300 - 150;
            };
        }
        x[0] = 0f;
        x[1] = Float.NEGATIVE_INFINITY;
        x[2] = Float.NaN;
        x[3] = -87.29f;
        for (int i = 0; i < x.length; i += L)
            TierStableMath.exp(FloatVector.fromArray(PoolKernels.S, x, i)).intoArray(y, i);
        for (int i = 0; i < x.length; i++) {
            float s = TierStableMath.exp(x[i]);
            if (Float.floatToRawIntBits(s) != Float.floatToRawIntBits(y[i]) && !(Float.isNaN(s) && Float.isNaN(y[i])))
                fail("exp(" + x[i] + "): vector " + y[i] + ", scalar " + s);
            if (x[i] >= -87.3f && x[i] <= 88.37f) {
                double want = Math.exp(x[i]);
                assertTrue(Math.abs(s - want) <= 2 * Math.ulp((float) want), "exp(" + x[i] + ") = " + s + ", want " + want);
            }
        }
        assertEquals(1f, y[0]);
        assertEquals(0f, y[1]);
        assertTrue(Float.isNaN(y[2]));
        assertTrue(y[3] > 0, "the smallest input kept is still a normal float");
        assertEquals(0f, TierStableMath.exp(-100f));
        assertEquals(TierStableMath.exp(88.37f), TierStableMath.exp(500f), "saturates at the largest input kept");
    }

    /** The documented order: lane i meets lane i + L/2, then the same on the halves; differs from left to right. */
    @Test
    void laneSumAddsInTheDocumentedTree() {
        Random r = new Random(4);
        float[] v = new float[L];
        int differsFromSequential = 0;
        for (int t = 0; t < 2000; t++) {
            for (int i = 0; i < L; i++) v[i] = (float) Math.exp(r.nextFloat() * 30 - 15) * (r.nextBoolean() ? 1 : -1);
            float[] w = v.clone();
            for (int h = L / 2; h >= 1; h /= 2) {
                float[] next = new float[L];
                for (int i = 0; i < L; i++) next[i] = w[i] + w[(i + h) % L];
                w = next;
            }
            float got = TierStableMath.sum(FloatVector.fromArray(PoolKernels.S, v, 0));
            assertEquals(Float.floatToRawIntBits(w[0]), Float.floatToRawIntBits(got), "lanes " + java.util.Arrays.toString(v));
            float sequential = 0;
            for (float f : v) sequential += f;
            if (sequential != got) differsFromSequential++;
        }
        assertTrue(differsFromSequential > 0, "the data must tell the tree from the sequential order");
    }
}
