package dev.stride.engine.cpu;

import dev.stride.graph.Shape;
import dev.stride.graph.op.InstanceNorm2d;
import dev.stride.graph.op.InstanceNorm2dBackward;
import dev.stride.graph.op.Lrn;
import dev.stride.graph.op.LrnBackward;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;

import static dev.stride.engine.cpu.OnnxOpKernels.F;
import static dev.stride.engine.cpu.OnnxOpKernels.L;
import static dev.stride.engine.cpu.OnnxOpKernels.S;
import static dev.stride.engine.cpu.OnnxOpKernels.cost;
import static dev.stride.engine.cpu.OnnxOpKernels.NATIVE;

/**
 * Instance normalisation and local response normalisation, forward and backward.
 *
 * <p>Instance norm works plane by plane ((n, c) planes split over the workers). Its statistics are sums over the
 * plane taken the way {@link #sumDeviations} describes: deviations from a centre inside the plane (so a plane
 * whose values sit far from zero loses nothing to cancellation), float vector lanes within chunks, chunk totals in
 * double. The gradients of scale and bias are per-plane sums added over the batch afterwards, in batch order, on
 * the calling thread.
 *
 * <p>LRN works on blocks of one sample's columns across all channels: squares, each channel's window sum in the
 * reference's order (channel ascending), then the power {@code d^-beta} as exp(-beta log d) in vector code
 * ({@link OnnxVectorMath}: the Vector API's own POW with a scalar exponent ran ~50x slower here, and its LOG and
 * EXP are not reproducible).
 */
final class OnnxNormKernels {
    private OnnxNormKernels() {}

    /** Floats a lane sum accumulates before the chunk's total goes into a double: L lanes x 2 accumulators. */
    static final int SUM_CHUNK = 1024;

    static void register(CpuKernelRegistry r, boolean simd) {
        r.register(InstanceNorm2d.class, (op, node) -> instanceNorm(op, node, simd));
        r.register(InstanceNorm2dBackward.class, (op, node) -> instanceNormBackward(op, node, simd));
        r.register(Lrn.class, (op, node) -> lrn(op, node, simd));
        r.register(LrnBackward.class, (op, node) -> lrnBackward(op, node, simd));
    }

    // ---- sums ----

    /**
     * Sum of {@code x - c} over {@code x[at, at + n)}: within each chunk of {@value #SUM_CHUNK} floats two vector
     * accumulators (or one float on the scalar path), chunk totals in double. The order depends on n and the
     * species only.
     */
    static double sumDeviations(MemorySegment x, long at, int n, float c, boolean simd) {
        double total = 0;
        for (int c0 = 0; c0 < n; c0 += SUM_CHUNK) {
            int len = Math.min(SUM_CHUNK, n - c0), j = 0;
            long from = at + c0;
            float part = 0;
            if (simd && len >= 2 * L) {
                FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
                for (; j <= len - 2 * L; j += 2 * L) {
                    a0 = a0.add(FloatVector.fromMemorySegment(S, x, (from + j) * 4L, NATIVE).sub(c));
                    a1 = a1.add(FloatVector.fromMemorySegment(S, x, (from + j + L) * 4L, NATIVE).sub(c));
                }
                part = laneSum(a0.add(a1));
            }
            for (; j < len; j++) part += x.getAtIndex(F, from + j) - c;
            total += part;
        }
        return total;
    }

    /** Sum of {@code (x - c)^2}, chunked as {@link #sumDeviations}. */
    static double sumSquaredDeviations(MemorySegment x, long at, int n, float c, boolean simd) {
        double total = 0;
        for (int c0 = 0; c0 < n; c0 += SUM_CHUNK) {
            int len = Math.min(SUM_CHUNK, n - c0), j = 0;
            long from = at + c0;
            float part = 0;
            if (simd && len >= 2 * L) {
                FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
                for (; j <= len - 2 * L; j += 2 * L) {
                    FloatVector d0 = FloatVector.fromMemorySegment(S, x, (from + j) * 4L, NATIVE).sub(c), d1 = FloatVector.fromMemorySegment(S, x, (from + j + L) * 4L, NATIVE).sub(c);
                    a0 = d0.fma(d0, a0);
                    a1 = d1.fma(d1, a1);
                }
                part = laneSum(a0.add(a1));
            }
            for (; j < len; j++) {
                float d = x.getAtIndex(F, from + j) - c;
                part = Math.fma(d, d, part);
            }
            total += part;
        }
        return total;
    }

    /**
     * Into {@code out[0]} the sum of dy and into {@code out[1]} the sum of {@code dy * ((x - c) - r)} (the
     * deviation from the mean c + r), chunked as {@link #sumDeviations}.
     */
    static void sumGradients(MemorySegment dy, MemorySegment x, long at, int n, float c, float r, boolean simd,
                             double[] out) {
        double s0 = 0, s1 = 0;
        for (int c0 = 0; c0 < n; c0 += SUM_CHUNK) {
            int len = Math.min(SUM_CHUNK, n - c0), j = 0;
            long from = at + c0;
            float p0 = 0, p1 = 0;
            if (simd && len >= L) {
                FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S);
                for (; j <= len - L; j += L) {
                    FloatVector g = FloatVector.fromMemorySegment(S, dy, (from + j) * 4L, NATIVE);
                    a0 = a0.add(g);
                    a1 = FloatVector.fromMemorySegment(S, x, (from + j) * 4L, NATIVE).sub(c).sub(r).fma(g, a1);
                }
                p0 = laneSum(a0);
                p1 = laneSum(a1);
            }
            for (; j < len; j++) {
                float g = dy.getAtIndex(F, from + j);
                p0 += g;
                p1 = Math.fma(x.getAtIndex(F, from + j) - c - r, g, p1);
            }
            s0 += p0;
            s1 += p1;
        }
        out[0] = s0;
        out[1] = s1;
    }

    // ---- instance norm ----

    /**
     * A plane's statistics: the mean as a float centre and its float remainder into {@code mean[0]} and
     * {@code mean[1]} (per-worker scratch: a run allocates nothing), and 1/sqrt(var + eps) returned.
     */
    private static double stats(MemorySegment x, long at, int m, double eps, boolean simd, float[] mean) {
        float first = x.getAtIndex(F, at);
        double mu = first + sumDeviations(x, at, m, first, simd) / m;
        float centre = (float) mu;
        double shift = mu - centre;   // the variance about the centre, less the centre's offset from the mean
        double var = Math.max(0, sumSquaredDeviations(x, at, m, centre, simd) / m - shift * shift);
        mean[0] = centre;
        mean[1] = (float) shift;
        return 1 / Math.sqrt(var + eps);
    }

    /** y = ((x - centre) - remainder) * (scale * rstd) + bias: x - centre is exact where x is near the mean. */
    private static CpuKernel instanceNorm(InstanceNorm2d op, CpuNode node, boolean simd) {
        Shape xs = node.inShape(0);
        MemorySegment x = node.in(0), scale = node.in(1), bias = node.in(2), y = node.out(0);
        int channels = xs.dim(1), planes = Math.multiplyExact(xs.dim(0), channels), m = Math.multiplyExact(xs.dim(2), xs.dim(3));
        double eps = op.eps();
        CpuRuntime rt = node.runtime();
        float[][] means = new float[rt.threads()][2];
        CpuRuntime.RangeTask task = (w, from, to) -> {
            float[] mean = means[w];
            for (int p = from; p < to; p++) {
                long at = (long) p * m;
                int c = p % channels;
                double rstd = stats(x, at, m, eps, simd, mean);
                float a = (float) (scale.getAtIndex(F, c) * rstd), b = bias.getAtIndex(F, c);
                float centre = mean[0], rem = mean[1];
                int j = 0;
                if (simd) for (; j <= m - L; j += L) (FloatVector.fromMemorySegment(S, x, (at + j) * 4L, NATIVE).sub(centre).sub(rem).fma(a, b)).intoMemorySegment(y, (at + j) * 4L, NATIVE);
                for (; j < m; j++) y.setAtIndex(F, at + j, Math.fma(x.getAtIndex(F, at + j) - centre - rem, a, b));
            }
        };
        long work = cost(3 * xs.size());
        return ctx -> rt.parallelFor(planes, work, task);
    }

    /**
     * Per plane: the statistics again, sums of dy and dy*(x - mean), and dx = k ((M dy - sum dy) - xhat sum dy*xhat)
     * with k = scale rstd / M; the plane sums go to scratch, and dscale, dbias add them over the batch afterwards.
     */
    private static CpuKernel instanceNormBackward(InstanceNorm2dBackward op, CpuNode node, boolean simd) {
        Shape xs = node.inShape(0);
        MemorySegment x = node.in(0), scale = node.in(1), dy = node.in(2);
        MemorySegment dx = node.out(0), dscale = node.out(1), dbias = node.out(2);
        int batch = xs.dim(0), channels = xs.dim(1), planes = Math.multiplyExact(batch, channels);
        int m = Math.multiplyExact(xs.dim(2), xs.dim(3));
        double eps = op.eps();
        CpuRuntime rt = node.runtime();
        double[] planeDy = new double[planes], planeDyXhat = new double[planes];
        double[][] sums = new double[rt.threads()][2];
        float[][] means = new float[rt.threads()][2];
        CpuRuntime.RangeTask task = (w, from, to) -> {
            double[] s = sums[w];
            float[] mean = means[w];
            for (int p = from; p < to; p++) {
                long at = (long) p * m;
                int c = p % channels;
                double rstd = stats(x, at, m, eps, simd, mean);
                float centre = mean[0], rem = mean[1];
                sumGradients(dy, x, at, m, centre, rem, simd, s);
                double sdy = s[0], sdyXhat = s[1] * rstd;
                planeDy[p] = sdy;
                planeDyXhat[p] = sdyXhat;
                double k = scale.getAtIndex(F, c) * rstd / m;
                float kf = (float) k, mf = m, sdyf = (float) sdy, coef = (float) (sdyXhat * rstd);
                int j = 0;
                if (simd) {
                    for (; j <= m - L; j += L) {
                        FloatVector t = FloatVector.fromMemorySegment(S, dy, (at + j) * 4L, NATIVE).fma(mf, -sdyf);
                        FloatVector d = FloatVector.fromMemorySegment(S, x, (at + j) * 4L, NATIVE).sub(centre).sub(rem);
                        (d.fma(FloatVector.broadcast(S, -coef), t).mul(kf)).intoMemorySegment(dx, (at + j) * 4L, NATIVE);
                    }
                }
                for (; j < m; j++) {
                    float t = Math.fma(dy.getAtIndex(F, at + j), mf, -sdyf);
                    float d = x.getAtIndex(F, at + j) - centre - rem;
                    dx.setAtIndex(F, at + j, Math.fma(d, -coef, t) * kf);
                }
            }
        };
        long work = cost(5 * xs.size());
        return ctx -> {
            rt.parallelFor(planes, work, task);
            for (int c = 0; c < channels; c++) {
                double gs = 0, gb = 0;
                for (int n = 0; n < batch; n++) {
                    gs += planeDyXhat[n * channels + c];
                    gb += planeDy[n * channels + c];
                }
                dscale.setAtIndex(F, c, (float) gs);
                dbias.setAtIndex(F, c, (float) gb);
            }
        };
    }

    // ---- LRN ----

    /** The sum of a vector's lanes in lane order: reduceLanes(ADD) may associate differently once compiled. */
    static float laneSum(FloatVector v) {
        float s = 0;
        for (int i = 0; i < L; i++) s += v.lane(i);
        return s;
    }

    /**
     * One sample [C, inner] is cut into column blocks of {@code width} floats (so C x width floats of scratch stay in
     * cache); a work item is one (sample, block).
     */
    private record LrnBlocks(int n, int c, int inner, int width, int perSample) {
        static LrnBlocks of(Shape x) {
            int inner = 1;
            for (int i = 2; i < x.rank(); i++) inner = Math.multiplyExact(inner, x.dim(i));
            int c = x.dim(1);
            int width = Math.max(L, Math.min(1024, 16384 / Math.max(1, c)));
            width = Math.min(width, Math.max(1, inner));
            return new LrnBlocks(x.dim(0), c, inner, width, inner == 0 ? 0 : (inner + width - 1) / width);
        }

        int items() { return Math.multiplyExact(n, perSample); }
    }

    /**
     * Into {@code d[ch * width + j]}: bias + alpha/size * (sum of squares over ch's window), summed over channels
     * ascending as the reference; {@code sq} receives the squares first.
     */
    private static void lrnBase(Lrn op, MemorySegment x, long at, LrnBlocks b, int len, float[] sq, float[] d,
                                boolean simd) {
        int width = b.width, inner = b.inner, c = b.c;
        for (int ch = 0; ch < c; ch++) {
            long src = at + (long) ch * inner;
            int row = ch * width, j = 0;
            if (simd) for (; j <= len - L; j += L) { FloatVector v = FloatVector.fromMemorySegment(S, x, (src + j) * 4L, NATIVE); v.mul(v).intoArray(sq, row + j); }
            for (; j < len; j++) {
                float v = x.getAtIndex(F, src + j);
                sq[row + j] = v * v;
            }
        }
        float k = (float) (op.alpha() / op.size()), bias = (float) op.bias();
        for (int ch = 0; ch < c; ch++) {
            int from = Math.max(0, ch - op.before()), to = Math.min(c - 1, ch - op.before() + op.size() - 1);
            windowSum(sq, from, to, width, len, d, ch * width, simd);
            int row = ch * width, j = 0;
            if (simd) for (; j <= len - L; j += L) FloatVector.fromArray(S, d, row + j).fma(k, bias).intoArray(d, row + j);
            for (; j < len; j++) d[row + j] = Math.fma(d[row + j], k, bias);
        }
    }

    /** {@code out[at + j] = sum over rows w in [from, to] of a[w * width + j]}, rows ascending (0 for none). */
    private static void windowSum(float[] a, int from, int to, int width, int len, float[] out, int at, boolean simd) {
        int j = 0;
        if (simd) {
            for (; j <= len - L; j += L) {
                FloatVector s = FloatVector.zero(S);
                for (int w = from; w <= to; w++) s = s.add(FloatVector.fromArray(S, a, w * width + j));
                s.intoArray(out, at + j);
            }
        }
        for (; j < len; j++) {
            float s = 0;
            for (int w = from; w <= to; w++) s += a[w * width + j];
            out[at + j] = s;
        }
    }

    private static CpuKernel lrn(Lrn op, CpuNode node, boolean simd) {
        Shape xs = node.inShape(0);
        MemorySegment x = node.in(0), y = node.out(0);
        LrnBlocks b = LrnBlocks.of(xs);
        CpuRuntime rt = node.runtime();
        int scratch = b.c * b.width;
        float[][] sq = new float[rt.threads()][scratch], d = new float[rt.threads()][scratch];
        double beta = op.beta();
        CpuRuntime.RangeTask task = (w, from, to) -> {
            float[] sqw = sq[w], dw = d[w];
            for (int item = from; item < to; item++) {
                int s = item / b.perSample, j0 = item % b.perSample * b.width, len = Math.min(b.inner, j0 + b.width) - j0;
                long at = (long) s * b.c * b.inner + j0;
                lrnBase(op, x, at, b, len, sqw, dw, simd);
                for (int ch = 0; ch < b.c; ch++) {
                    long o = at + (long) ch * b.inner;
                    int row = ch * b.width, j = 0;
                    OnnxVectorMath.pow(dw, row, len, -beta, simd);
                    if (simd) for (; j <= len - L; j += L) (FloatVector.fromMemorySegment(S, x, (o + j) * 4L, NATIVE).mul(FloatVector.fromArray(S, dw, row + j))).intoMemorySegment(y, (o + j) * 4L, NATIVE);
                    for (; j < len; j++) y.setAtIndex(F, o + j, x.getAtIndex(F, o + j) * dw[row + j]);
                }
            }
        };
        long work = cost(xs.size() * (op.size() + 8L));
        int items = b.items();
        return ctx -> rt.parallelFor(items, work, task);
    }

    /**
     * With d and p = d^-beta per element: t = dy x p / d (= dy x d^(-beta-1)), then dx = dy p - 2 alpha beta/size *
     * x * (sum of t over the channels whose window holds this one: ch - hi .. ch + lo).
     */
    private static CpuKernel lrnBackward(LrnBackward op, CpuNode node, boolean simd) {
        Lrn f = op.forward();
        Shape xs = node.inShape(0);
        MemorySegment x = node.in(0), dy = node.in(1), dx = node.out(0);
        LrnBlocks b = LrnBlocks.of(xs);
        CpuRuntime rt = node.runtime();
        int scratch = b.c * b.width, lo = f.before(), hi = f.size() - 1 - lo;
        float[][] pa = new float[rt.threads()][scratch], da = new float[rt.threads()][scratch], ta = new float[rt.threads()][scratch];
        float k = (float) (2 * f.alpha() * f.beta() / f.size());
        double beta = f.beta();
        CpuRuntime.RangeTask task = (w, from, to) -> {
            float[] p = pa[w], d = da[w], t = ta[w];
            for (int item = from; item < to; item++) {
                int s = item / b.perSample, j0 = item % b.perSample * b.width, len = Math.min(b.inner, j0 + b.width) - j0;
                long at = (long) s * b.c * b.inner + j0;
                lrnBase(f, x, at, b, len, p, d, simd);   // p holds the squares until overwritten below
                for (int ch = 0; ch < b.c; ch++) {
                    long o = at + (long) ch * b.inner;
                    int row = ch * b.width, j = 0;
                    System.arraycopy(d, row, p, row, len);
                    OnnxVectorMath.pow(p, row, len, -beta, simd);
                    if (simd) {
                        for (; j <= len - L; j += L) {
                            FloatVector pv = FloatVector.fromArray(S, p, row + j), dv = FloatVector.fromArray(S, d, row + j);
                            FloatVector.fromMemorySegment(S, dy, (o + j) * 4L, NATIVE).mul(FloatVector.fromMemorySegment(S, x, (o + j) * 4L, NATIVE)).mul(pv).div(dv).intoArray(t, row + j);
                        }
                    }
                    for (; j < len; j++) t[row + j] = dy.getAtIndex(F, o + j) * x.getAtIndex(F, o + j) * p[row + j] / d[row + j];
                }
                for (int ch = 0; ch < b.c; ch++) {
                    long o = at + (long) ch * b.inner;
                    int row = ch * b.width;
                    windowSum(t, Math.max(0, ch - hi), Math.min(b.c - 1, ch + lo), b.width, len, d, row, simd);
                    int j = 0;   // d now holds the window sums of t
                    if (simd) {
                        for (; j <= len - L; j += L) {
                            FloatVector g = FloatVector.fromMemorySegment(S, dy, (o + j) * 4L, NATIVE).mul(FloatVector.fromArray(S, p, row + j));
                            (FloatVector.fromMemorySegment(S, x, (o + j) * 4L, NATIVE).mul(k).mul(FloatVector.fromArray(S, d, row + j)).neg().add(g)).intoMemorySegment(dx, (o + j) * 4L, NATIVE);
                        }
                    }
                    for (; j < len; j++)
                        dx.setAtIndex(F, o + j, dy.getAtIndex(F, o + j) * p[row + j] - x.getAtIndex(F, o + j) * k * d[row + j]);
                }
            }
        };
        long work = cost(xs.size() * (2L * f.size() + 20));
        int items = b.items();
        return ctx -> rt.parallelFor(items, work, task);
    }
}
