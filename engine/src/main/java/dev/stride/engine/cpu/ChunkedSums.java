package dev.stride.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Sums over runs of floats in a fixed order, for statistics over many elements (batch norm over N*H*W): within a
 * chunk of {@link #CHUNK} floats, float vector lanes (two accumulators, then {@link TierStableMath#sum}) or a
 * plain float sum on the scalar path; chunk totals are added in double. A lane therefore sums at most
 * CHUNK / (2 * lanes) floats, which keeps float rounding small however long the run, and the order depends only on
 * the run's length and the species, never on the thread or the JIT tier that computes it.
 */
final class ChunkedSums {
    private ChunkedSums() {}

    static final int CHUNK = 1024;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private static final VectorSpecies<Float> S = PoolKernels.S;   // a constant: see PoolKernels.S

    private static FloatVector load(MemorySegment x, long at) {
        return FloatVector.fromMemorySegment(S, x, at * Float.BYTES, NATIVE);
    }

    /** Sum of {@code x - center} over {@code x[at, at + n)}. */
    static double deviations(MemorySegment x, long at, long n, float center, boolean simd) {
        double total = 0;
        int step = S.length();
        FloatVector vc = FloatVector.broadcast(S, center);
        for (long c = 0; c < n; c += CHUNK) {
            int len = (int) Math.min(CHUNK, n - c);
            long from = at + c;
            int i = 0;
            float part = 0;
            if (simd && len >= step) {
                FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
                for (; i <= len - 2 * step; i += 2 * step) {
                    a0 = a0.add(load(x, from + i).sub(vc));
                    a1 = a1.add(load(x, from + i + step).sub(vc));
                }
                for (; i <= len - step; i += step) a0 = a0.add(load(x, from + i).sub(vc));
                part = TierStableMath.sum(a0.add(a1));
            }
            for (; i < len; i++) part += x.getAtIndex(F, from + i) - center;
            total += part;
        }
        return total;
    }

    /** Sum of {@code (x - center)^2} over {@code x[at, at + n)}. */
    static double squaredDeviations(MemorySegment x, long at, long n, float center, boolean simd) {
        double total = 0;
        int step = S.length();
        FloatVector vc = FloatVector.broadcast(S, center);
        for (long c = 0; c < n; c += CHUNK) {
            int len = (int) Math.min(CHUNK, n - c);
            long from = at + c;
            int i = 0;
            float part = 0;
            if (simd && len >= step) {
                FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
                for (; i <= len - 2 * step; i += 2 * step) {
                    FloatVector d0 = load(x, from + i).sub(vc), d1 = load(x, from + i + step).sub(vc);
                    a0 = d0.fma(d0, a0);
                    a1 = d1.fma(d1, a1);
                }
                for (; i <= len - step; i += step) {
                    FloatVector d = load(x, from + i).sub(vc);
                    a0 = d.fma(d, a0);
                }
                part = TierStableMath.sum(a0.add(a1));
            }
            for (; i < len; i++) {
                float d = x.getAtIndex(F, from + i) - center;
                part = Math.fma(d, d, part);
            }
            total += part;
        }
        return total;
    }

    /**
     * Adds to {@code out[0]} the sum of {@code dy} and to {@code out[1]} the sum of {@code dy * (x - center)}, both
     * over {@code [at, at + n)} of their segments.
     */
    static void gradientSums(MemorySegment dy, MemorySegment x, long at, long n, float center, double[] out, boolean simd) {
        int step = S.length();
        FloatVector vc = FloatVector.broadcast(S, center);
        for (long c = 0; c < n; c += CHUNK) {
            int len = (int) Math.min(CHUNK, n - c);
            long from = at + c;
            int i = 0;
            float sdy = 0, sdyx = 0;
            if (simd && len >= step) {
                FloatVector g0 = FloatVector.zero(S), g1 = FloatVector.zero(S);
                FloatVector p0 = FloatVector.zero(S), p1 = FloatVector.zero(S);
                for (; i <= len - 2 * step; i += 2 * step) {
                    FloatVector d0 = load(dy, from + i), d1 = load(dy, from + i + step);
                    g0 = g0.add(d0);
                    g1 = g1.add(d1);
                    p0 = d0.fma(load(x, from + i).sub(vc), p0);
                    p1 = d1.fma(load(x, from + i + step).sub(vc), p1);
                }
                for (; i <= len - step; i += step) {
                    FloatVector d = load(dy, from + i);
                    g0 = g0.add(d);
                    p0 = d.fma(load(x, from + i).sub(vc), p0);
                }
                sdy = TierStableMath.sum(g0.add(g1));
                sdyx = TierStableMath.sum(p0.add(p1));
            }
            for (; i < len; i++) {
                float d = dy.getAtIndex(F, from + i);
                sdy += d;
                sdyx = Math.fma(d, x.getAtIndex(F, from + i) - center, sdyx);
            }
            out[0] += sdy;
            out[1] += sdyx;
        }
    }
}
