package dev.stride.engine.cpu;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bias gradient's plane sum adds in one documented order, whatever JIT tier runs it: four lane-wise
 * accumulators, (s0 + s1) + (s2 + s3), the lanes by {@link TierStableMath#sum}'s tree, then the tail. (With
 * reduceLanes(ADD) the interpreter adds the lanes left to right and C2 in a tree: a run's bits then depended on
 * which worker's code was compiled, and a resumed training run drifted from the uninterrupted one.)
 */
class ConvBiasSumTest {
    private static final int L = VectorConfig.SPECIES.length();

    /** The documented order, in scalar float arithmetic. */
    private static float expected(float[] a, int at, int len) {
        float[][] s = new float[4][L];
        int i = 0;
        for (; i <= len - 4 * L; i += 4 * L)
            for (int k = 0; k < 4; k++) for (int j = 0; j < L; j++) s[k][j] += a[at + i + k * L + j];
        for (; i <= len - L; i += L) for (int j = 0; j < L; j++) s[0][j] += a[at + i + j];
        float[] v = new float[L];
        for (int j = 0; j < L; j++) v[j] = (s[0][j] + s[1][j]) + (s[2][j] + s[3][j]);
        for (int h = L / 2; h >= 1; h /= 2) {
            float[] next = new float[L];
            for (int j = 0; j < L; j++) next[j] = v[j] + v[(j + h) % L];
            v = next;
        }
        float total = v[0];
        for (; i < len; i++) total += a[at + i];
        return total;
    }

    @Test
    void planeSumFollowsTheDocumentedOrder() {
        Random r = new Random(5);
        int differsFromSequentialLanes = 0;
        try (Arena arena = Arena.ofConfined()) {
            for (int t = 0; t < 400; t++) {
                int len = 1 + r.nextInt(9 * L), at = r.nextInt(5);
                float[] a = new float[at + len];
                for (int i = 0; i < a.length; i++) a[i] = (float) Math.exp(r.nextFloat() * 20 - 10) * (r.nextBoolean() ? 1 : -1);
                MemorySegment seg = arena.allocate(4L * a.length, 64);
                MemorySegment.copy(a, 0, seg, ValueLayout.JAVA_FLOAT, 0, a.length);
                float want = expected(a, at, len);
                float got = ConvKernels.sum(seg, at, len, true);
                assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got), "len " + len + ", at " + at);
                // The same accumulators with their lanes added left to right, as the interpreter's reduceLanes does.
                if (len >= L && L > 1 && sequentialLanes(a, at, len) != want) differsFromSequentialLanes++;
            }
        }
        if (VectorConfig.SIMD && L > 1)
            assertTrue(differsFromSequentialLanes > 0, "the data must tell the tree from left-to-right lanes");
    }

    private static float sequentialLanes(float[] a, int at, int len) {
        float[][] s = new float[4][L];
        int i = 0;
        for (; i <= len - 4 * L; i += 4 * L)
            for (int k = 0; k < 4; k++) for (int j = 0; j < L; j++) s[k][j] += a[at + i + k * L + j];
        for (; i <= len - L; i += L) for (int j = 0; j < L; j++) s[0][j] += a[at + i + j];
        float total = 0;
        for (int j = 0; j < L; j++) total += (s[0][j] + s[1][j]) + (s[2][j] + s[3][j]);
        for (; i < len; i++) total += a[at + i];
        return total;
    }
}
