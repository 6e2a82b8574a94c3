package dev.stride.engine.cpu;

import dev.stride.graph.Shape;
import dev.stride.graph.op.BatchNorm2dBackward;
import dev.stride.graph.op.BatchNorm2dInfer;
import dev.stride.graph.op.BatchNorm2dInferBackward;
import dev.stride.graph.op.BatchNorm2dTrain;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Batch normalisation over NCHW, channel by channel (channels split over the workers; every channel's statistics
 * come from one worker, in one order, so results do not depend on the thread count). A channel's N planes are
 * read two or three times in a row while they are still in cache.
 *
 * <p>Training statistics take two passes, as the reference does: the mean (sums of the deviations from one of
 * the channel's values in {@link ChunkedSums}: float vectors within a chunk, double across chunks), then the
 * squared deviations from the mean rounded to float, {@code mf}, with the exact correction
 * {@code var = sum((x - mf)^2)/M - (mean - mf)^2}. The output is formed as
 * {@code (x - mf) * scale + (beta - (mean - mf) * scale)}, so a large mean does not cancel in float. Outputs are
 * the reference's: y, the batch mean and the biased batch variance.
 */
final class BatchNormKernels {
    private BatchNormKernels() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final VectorSpecies<Float> S = PoolKernels.S;   // a constant: see PoolKernels.S

    /** N, C and H*W of an NCHW shape; channel c of sample n starts at {@code (n*C + c) * hw}. */
    private record Nchw(int n, int c, int hw) {
        static Nchw of(Shape x) { return new Nchw(x.dim(0), x.dim(1), x.dim(2) * x.dim(3)); }

        long base(int ni, int ci) { return ((long) ni * c + ci) * hw; }

        long perChannel() { return (long) n * hw; }

        long size() { return (long) n * c * hw; }
    }

    @FunctionalInterface
    private interface ChannelTask { void run(int worker, int channel); }

    /** Runs {@code task} for every channel, split over the workers when {@code visits} is worth it. */
    private static CpuKernel channels(CpuNode node, Nchw d, long visits, ChannelTask task) {
        CpuRuntime rt = node.runtime();
        long cost = StreamingCost.of(visits);
        return ctx -> rt.parallelFor(d.c(), cost, (w, from, to) -> {
            for (int c = from; c < to; c++) task.run(w, c);
        });
    }

    static void register(CpuKernelRegistry r, boolean simd) {
        r.register(BatchNorm2dTrain.class, (op, node) -> {
            Nchw d = Nchw.of(node.inShape(0));
            double eps = op.eps(), m = d.perChannel();
            MemorySegment x = node.in(0), gamma = node.in(1), beta = node.in(2);
            MemorySegment y = node.out(0), mean = node.out(1), var = node.out(2);
            return channels(node, d, 3 * d.size(), (w, c) -> {
                // Sums of x - pivot, pivot one of the channel's values: clustered data far from zero (a mean
                // of 1000, a deviation of 0.01) then sums small numbers, which float adds accurately.
                float pivot = x.getAtIndex(F, d.base(0, c));
                double sum = 0;
                for (int n = 0; n < d.n(); n++) sum += ChunkedSums.deviations(x, d.base(n, c), d.hw(), pivot, simd);
                double mu = pivot + sum / m;
                float mf = (float) mu;
                double sq = 0;
                for (int n = 0; n < d.n(); n++)
                    sq += ChunkedSums.squaredDeviations(x, d.base(n, c), d.hw(), mf, simd);
                double v = Math.max(0, sq / m - (mu - mf) * (mu - mf));
                double scale = gamma.getAtIndex(F, c) / Math.sqrt(v + eps);
                float s = (float) scale, t = (float) (beta.getAtIndex(F, c) - (mu - mf) * scale);
                for (int n = 0; n < d.n(); n++) shiftScale(x, y, d.base(n, c), d.hw(), mf, s, t, simd);
                mean.setAtIndex(F, c, mf);
                var.setAtIndex(F, c, (float) v);
            });
        });
        r.register(BatchNorm2dBackward.class, (op, node) -> {
            Nchw d = Nchw.of(node.inShape(0));
            double eps = op.eps(), m = d.perChannel();
            MemorySegment x = node.in(0), gamma = node.in(1), mean = node.in(2), var = node.in(3), dy = node.in(4);
            MemorySegment dx = node.out(0), dgamma = node.out(1), dbeta = node.out(2);
            double[][] sums = new double[node.runtime().threads()][2];
            return channels(node, d, 5 * d.size(), (w, c) -> {
                float mu = mean.getAtIndex(F, c);   // a float input: (x - mu) needs no correction here
                double inv = 1 / Math.sqrt(var.getAtIndex(F, c) + eps);
                double[] s = sums[w];
                s[0] = 0;
                s[1] = 0;
                for (int n = 0; n < d.n(); n++) ChunkedSums.gradientSums(dy, x, d.base(n, c), d.hw(), mu, s, simd);
                double sdy = s[0], sdyx = s[1] * inv, k = gamma.getAtIndex(F, c) * inv / m;
                // dx = k (M dy - sdy - xhat sdyx), xhat = (x - mu) inv: an affine map of dy and (x - mu).
                float a = (float) (k * m), b = (float) (-k * inv * sdyx), c0 = (float) (-k * sdy);
                for (int n = 0; n < d.n(); n++) backwardPlane(x, dy, dx, d.base(n, c), d.hw(), mu, a, b, c0, simd);
                dgamma.setAtIndex(F, c, (float) sdyx);
                dbeta.setAtIndex(F, c, (float) sdy);
            });
        });
        r.register(BatchNorm2dInfer.class, (op, node) -> {
            Nchw d = Nchw.of(node.inShape(0));
            double eps = op.eps();
            MemorySegment x = node.in(0), gamma = node.in(1), beta = node.in(2), rm = node.in(3), rv = node.in(4);
            MemorySegment y = node.out(0);
            return channels(node, d, 2 * d.size(), (w, c) -> {
                double scale = gamma.getAtIndex(F, c) / Math.sqrt(rv.getAtIndex(F, c) + eps);
                float s = (float) scale, t = (float) (beta.getAtIndex(F, c) - rm.getAtIndex(F, c) * scale);
                for (int n = 0; n < d.n(); n++) shiftScale(x, y, d.base(n, c), d.hw(), 0f, s, t, simd);
            });
        });
        r.register(BatchNorm2dInferBackward.class, (op, node) -> {
            Nchw d = Nchw.of(node.inShape(0));
            double eps = op.eps();
            MemorySegment x = node.in(0), gamma = node.in(1), rm = node.in(2), rv = node.in(3), dy = node.in(4);
            MemorySegment dx = node.out(0), dgamma = node.out(1), dbeta = node.out(2);
            double[][] sums = new double[node.runtime().threads()][2];
            return channels(node, d, 3 * d.size(), (w, c) -> {
                float mu = rm.getAtIndex(F, c);
                double inv = 1 / Math.sqrt(rv.getAtIndex(F, c) + eps);
                float k = (float) (gamma.getAtIndex(F, c) * inv);
                double[] s = sums[w];
                s[0] = 0;
                s[1] = 0;
                for (int n = 0; n < d.n(); n++) {
                    long at = d.base(n, c);
                    ChunkedSums.gradientSums(dy, x, at, d.hw(), mu, s, simd);
                    shiftScale(dy, dx, at, d.hw(), 0f, k, 0f, simd);
                }
                dgamma.setAtIndex(F, c, (float) (s[1] * inv));
                dbeta.setAtIndex(F, c, (float) s[0]);
            });
        });
    }

    /** {@code y = (x - center) * s + t} over {@code [at, at + n)}. */
    private static void shiftScale(MemorySegment x, MemorySegment y, long at, int n, float center, float s, float t, boolean simd) {
        int i = 0;
        if (simd) {
            int step = S.length();
            FloatVector vc = FloatVector.broadcast(S, center), vs = FloatVector.broadcast(S, s),
                    vt = FloatVector.broadcast(S, t);
            for (; i <= n - step; i += step) {
                long b = (at + i) * Float.BYTES;
                FloatVector.fromMemorySegment(S, x, b, NATIVE).sub(vc).fma(vs, vt).intoMemorySegment(y, b, NATIVE);
            }
        }
        for (; i < n; i++) y.setAtIndex(F, at + i, Math.fma(x.getAtIndex(F, at + i) - center, s, t));
    }

    /** {@code dx = a * dy + (b * (x - center) + c)} over {@code [at, at + n)}. */
    private static void backwardPlane(MemorySegment x, MemorySegment dy, MemorySegment dx, long at, int n, float center,
                                      float a, float b, float c, boolean simd) {
        int i = 0;
        if (simd) {
            int step = S.length();
            FloatVector vcenter = FloatVector.broadcast(S, center), va = FloatVector.broadcast(S, a),
                    vb = FloatVector.broadcast(S, b), vc = FloatVector.broadcast(S, c);
            for (; i <= n - step; i += step) {
                long o = (at + i) * Float.BYTES;
                FloatVector xm = FloatVector.fromMemorySegment(S, x, o, NATIVE).sub(vcenter);
                FloatVector.fromMemorySegment(S, dy, o, NATIVE).fma(va, xm.fma(vb, vc)).intoMemorySegment(dx, o, NATIVE);
            }
        }
        for (; i < n; i++) {
            float xm = x.getAtIndex(F, at + i) - center;
            dx.setAtIndex(F, at + i, Math.fma(dy.getAtIndex(F, at + i), a, Math.fma(xm, b, c)));
        }
    }
}
