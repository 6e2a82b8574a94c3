package dev.stride.engine.cpu;

import dev.stride.graph.Shape;
import dev.stride.graph.op.Softmax;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Softmax and log-softmax along any axis, and their gradients. The tensor is viewed as [outer, n, inner] around
 * the axis; the outer slabs are split over the workers.
 * <ul>
 *   <li>inner = 1 (the axis is the last one, as for logits): each row of n is contiguous; vectors run along it
 *   and lane sums are reduced per chunk of {@link ChunkedSums#CHUNK} and added in double.</li>
 *   <li>inner > 1 (e.g. over channels of NCHW): vectors run along inner, with per-position maximum and sum rows.</li>
 * </ul>
 * The maximum is subtracted before exp, so no term exceeds 1; softmax stores the exponentials in y and divides
 * them by the sum in place (one exp per element). exp is {@link TierStableMath}, not the Vector API's, whose bits
 * depend on the JIT tier: with it, two runs or two thread counts could differ.
 */
final class SoftmaxKernels {
    private SoftmaxKernels() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final VectorSpecies<Float> S = PoolKernels.S;   // a constant: see PoolKernels.S

    private record Layout(int outer, int n, int inner) {
        static Layout of(Shape s, int axis) {
            int a = Softmax.normalizeAxis(axis, s);
            return new Layout(Math.toIntExact(TensorKernels.product(s, 0, a)), s.dim(a),
                    Math.toIntExact(TensorKernels.product(s, a + 1, s.rank())));
        }

        long slab() { return (long) n * inner; }
    }

    private static FloatVector load(MemorySegment m, long at) {
        return FloatVector.fromMemorySegment(S, m, at * Float.BYTES, NATIVE);
    }

    static CpuKernel forward(CpuNode node, int axis, boolean log, boolean simd) {
        Layout l = Layout.of(node.outShape(0), axis);
        MemorySegment x = node.in(0), y = node.out(0);
        CpuRuntime rt = node.runtime();
        long cost = StreamingCost.of(4 * node.outShape(0).size());
        if (l.inner == 1) {
            return ctx -> rt.parallelFor(l.outer, cost, (w, from, to) -> {
                for (int o = from; o < to; o++) row(x, y, (long) o * l.n, l.n, log, simd);
            });
        }
        float[][] scratch = new float[rt.threads()][2 * l.inner];
        return ctx -> rt.parallelFor(l.outer, cost, (w, from, to) -> {
            for (int o = from; o < to; o++) slab(x, y, o * l.slab(), l, log, scratch[w], simd);
        });
    }

    /** Softmax or log-softmax of the contiguous row {@code x[at, at + n)}. */
    private static void row(MemorySegment x, MemorySegment y, long at, int n, boolean log, boolean simd) {
        int step = S.length();
        float max = Float.NEGATIVE_INFINITY;
        int i = 0;
        if (simd && n >= step) {
            FloatVector m = load(x, at);
            for (i = step; i <= n - step; i += step) m = m.max(load(x, at + i));
            max = m.reduceLanes(VectorOperators.MAX);   // a maximum does not depend on the order (unlike ADD)
        }
        for (; i < n; i++) max = Math.max(max, x.getAtIndex(F, at + i));
        // exp(x - max) (stored in y for softmax) and its sum: float lanes per chunk, chunks in double.
        FloatVector vmax = FloatVector.broadcast(S, max);
        double sum = 0;
        for (int c = 0; c < n; c += ChunkedSums.CHUNK) {
            int end = Math.min(n, c + ChunkedSums.CHUNK);
            float part = 0;
            i = c;
            if (simd && end - c >= step) {
                FloatVector acc = FloatVector.zero(S);
                for (; i <= end - step; i += step) {
                    FloatVector e = TierStableMath.exp(load(x, at + i).sub(vmax));
                    if (!log) e.intoMemorySegment(y, (at + i) * Float.BYTES, NATIVE);
                    acc = acc.add(e);
                }
                part = TierStableMath.sum(acc);
            }
            for (; i < end; i++) {
                float e = TierStableMath.exp(x.getAtIndex(F, at + i) - max);
                if (!log) y.setAtIndex(F, at + i, e);
                part += e;
            }
            sum += part;
        }
        i = 0;
        if (log) {
            // (x - max) - log sum, as the reference: x - max is exact near the maximum, where it matters.
            float logSum = (float) Math.log(sum);
            if (simd) {
                FloatVector vl = FloatVector.broadcast(S, logSum);
                for (; i <= n - step; i += step)
                    load(x, at + i).sub(vmax).sub(vl).intoMemorySegment(y, (at + i) * Float.BYTES, NATIVE);
            }
            for (; i < n; i++) y.setAtIndex(F, at + i, x.getAtIndex(F, at + i) - max - logSum);
        } else {
            float total = (float) sum;
            if (simd) {
                for (; i <= n - step; i += step) load(y, at + i).div(total).intoMemorySegment(y, (at + i) * Float.BYTES, NATIVE);
            }
            for (; i < n; i++) y.setAtIndex(F, at + i, y.getAtIndex(F, at + i) / total);
        }
    }

    /** Softmax or log-softmax of one [n, inner] slab at {@code at}, along n; {@code s} holds 2 * inner floats. */
    private static void slab(MemorySegment x, MemorySegment y, long at, Layout l, boolean log, float[] s, boolean simd) {
        int inner = l.inner, step = S.length();
        Arrays.fill(s, 0, inner, Float.NEGATIVE_INFINITY);
        Arrays.fill(s, inner, 2 * inner, 0f);
        for (int k = 0; k < l.n; k++) {
            long row = at + (long) k * inner;
            int j = 0;
            if (simd) {
                for (; j <= inner - step; j += step) FloatVector.fromArray(S, s, j).max(load(x, row + j)).intoArray(s, j);
            }
            for (; j < inner; j++) s[j] = Math.max(s[j], x.getAtIndex(F, row + j));
        }
        for (int k = 0; k < l.n; k++) {
            long row = at + (long) k * inner;
            int j = 0;
            if (simd) {
                for (; j <= inner - step; j += step) {
                    FloatVector e = TierStableMath.exp(load(x, row + j).sub(FloatVector.fromArray(S, s, j)));
                    if (!log) e.intoMemorySegment(y, (row + j) * Float.BYTES, NATIVE);
                    FloatVector.fromArray(S, s, inner + j).add(e).intoArray(s, inner + j);
                }
            }
            for (; j < inner; j++) {
                float e = TierStableMath.exp(x.getAtIndex(F, row + j) - s[j]);
                if (!log) y.setAtIndex(F, row + j, e);
                s[inner + j] += e;
            }
        }
        if (log) {
            for (int j = 0; j < inner; j++) s[inner + j] = (float) Math.log(s[inner + j]);
        }
        for (int k = 0; k < l.n; k++) {
            long row = at + (long) k * inner;
            int j = 0;
            if (simd) {
                for (; j <= inner - step; j += step) {
                    long b = (row + j) * Float.BYTES;
                    FloatVector v = log ? load(x, row + j).sub(FloatVector.fromArray(S, s, j)).sub(FloatVector.fromArray(S, s, inner + j))
                            : load(y, row + j).div(FloatVector.fromArray(S, s, inner + j));
                    v.intoMemorySegment(y, b, NATIVE);
                }
            }
            for (; j < inner; j++) {
                y.setAtIndex(F, row + j, log ? x.getAtIndex(F, row + j) - s[j] - s[inner + j]
                        : y.getAtIndex(F, row + j) / s[inner + j]);
            }
        }
    }

    /**
     * Softmax: dx = y (dy - sum(dy y)); log-softmax: dx = dy - exp(y) sum(dy), the sums along the axis. Inputs
     * y, dy; output dx.
     */
    static CpuKernel backward(CpuNode node, int axis, boolean log, boolean simd) {
        Layout l = Layout.of(node.outShape(0), axis);
        MemorySegment y = node.in(0), dy = node.in(1), dx = node.out(0);
        CpuRuntime rt = node.runtime();
        long cost = StreamingCost.of(4 * node.outShape(0).size());
        if (l.inner == 1) {
            double[][] sums = new double[rt.threads()][2];
            return ctx -> rt.parallelFor(l.outer, cost, (w, from, to) -> {
                double[] s = sums[w];
                for (int o = from; o < to; o++) {
                    long at = (long) o * l.n;
                    s[0] = 0;
                    s[1] = 0;
                    ChunkedSums.gradientSums(dy, y, at, l.n, 0f, s, simd);   // sum dy, sum dy * y
                    backwardRun(y, dy, dx, at, l.n, (float) (log ? s[0] : s[1]), log, simd);
                }
            });
        }
        float[][] scratch = new float[rt.threads()][l.inner];
        return ctx -> rt.parallelFor(l.outer, cost, (w, from, to) -> {
            float[] s = scratch[w];
            int inner = l.inner, step = S.length();
            for (int o = from; o < to; o++) {
                long at = o * l.slab();
                Arrays.fill(s, 0f);
                for (int k = 0; k < l.n; k++) {
                    long row = at + (long) k * inner;
                    int j = 0;
                    if (simd) {
                        for (; j <= inner - step; j += step) {
                            FloatVector g = load(dy, row + j);
                            FloatVector.fromArray(S, s, j).add(log ? g : g.mul(load(y, row + j))).intoArray(s, j);
                        }
                    }
                    for (; j < inner; j++) {
                        float g = dy.getAtIndex(F, row + j);
                        s[j] += log ? g : g * y.getAtIndex(F, row + j);
                    }
                }
                for (int k = 0; k < l.n; k++) {
                    long row = at + (long) k * inner;
                    int j = 0;
                    if (simd) {
                        for (; j <= inner - step; j += step) {
                            FloatVector yy = load(y, row + j), g = load(dy, row + j), sum = FloatVector.fromArray(S, s, j);
                            (log ? g.sub(TierStableMath.exp(yy).mul(sum)) : yy.mul(g.sub(sum)))
                                    .intoMemorySegment(dx, (row + j) * Float.BYTES, NATIVE);
                        }
                    }
                    for (; j < inner; j++) {
                        float yy = y.getAtIndex(F, row + j), g = dy.getAtIndex(F, row + j);
                        dx.setAtIndex(F, row + j, log ? g - TierStableMath.exp(yy) * s[j] : yy * (g - s[j]));
                    }
                }
            }
        });
    }

    /** One contiguous run of the backward: {@code sum} is sum(dy) for log-softmax, sum(dy y) for softmax. */
    private static void backwardRun(MemorySegment y, MemorySegment dy, MemorySegment dx, long at, int n, float sum,
                                    boolean log, boolean simd) {
        int i = 0;
        if (simd) {
            FloatVector vs = FloatVector.broadcast(S, sum);
            for (int step = S.length(); i <= n - step; i += step) {
                FloatVector yy = load(y, at + i), g = load(dy, at + i);
                (log ? g.sub(TierStableMath.exp(yy).mul(vs)) : yy.mul(g.sub(vs)))
                        .intoMemorySegment(dx, (at + i) * Float.BYTES, NATIVE);
            }
        }
        for (; i < n; i++) {
            float yy = y.getAtIndex(F, at + i), g = dy.getAtIndex(F, at + i);
            dx.setAtIndex(F, at + i, log ? g - TierStableMath.exp(yy) * sum : yy * (g - sum));
        }
    }
}
