package dev.stride.engine.cpu;

import dev.stride.engine.RunContext;
import dev.stride.graph.Shape;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Conv2dBackwardData;
import dev.stride.graph.op.Conv2dBackwardFilter;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Direct depthwise convolution (groups = C = O, one filter per channel), forward, backward-data and
 * backward-filter, any kernel size, stride, padding and dilation. Entries: {@link #forward} (Conv2d, algorithm
 * {@link ConvChooser#DEPTHWISE}), {@link #backwardData} and {@link #backwardFilter} (Conv2dBackwardData and
 * Conv2dBackwardFilter with algorithm {@link ConvChooser#DEPTHWISE}); the conv family's factories dispatch here.
 *
 * <p>The trick that makes every configuration one contiguous vector loop: each (n, c) input plane is copied into
 * a zero-padded polyphase layout, the padded plane split by stride into {@code strideH * strideW} phase planes
 * of width {@code PW = ceil(Wp / strideW)} ({@code xp[phase][r][t] = xpad[r * strideH + ph][t * strideW + pw]}).
 * Then output (oy, ox) and kernel tap (ky, kx) read phase plane ((ky*dH) mod sH, (kx*dW) mod sW) at
 * {@code (oy + ky*dH / sH) * PW + ox + kx*dW / sW}: with the output laid out at row stride PW as well
 * ({@code q = oy * PW + ox}), a tap is the same flat offset for every output, so each output vector is a sum of
 * kH*kW contiguous vector loads times a broadcast weight, padding and stride included, no bounds test. The
 * columns {@code ox >= Wo} of that layout are computed and dropped (PW - Wo of every PW: 2 of 9 for a 7x7 map).
 * Backward-data is the adjoint of the same loop (each tap scatters dy back with one vector FMA per output vector;
 * the padding positions it reaches are dropped), backward-filter its dot products, summed over the batch.
 *
 * <p>Threads: over (n, c) planes for forward and backward-data, over channels for backward-filter (each sums
 * its batch in order), so results are bit-identical for any thread count.
 */
final class DepthwiseConv {
    private DepthwiseConv() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** Whether the direct kernel computes this convolution: one group per channel, as many outputs as inputs. */
    static boolean applicable(int channels, int outChannels, int groups) {
        return groups == channels && outChannels == channels;
    }

    /** Forward: y = depthwise conv(x, w) [+ bias], with {@code node.epilogue(2)}. */
    static CpuKernel forward(Conv2d op, CpuNode node) {
        return forward(op, node, VectorConfig.SIMD);
    }

    /** The same with SIMD or the scalar path (tests). */
    static CpuKernel forward(Conv2d op, CpuNode node, boolean simd) {
        Shape x = node.inShape(0), w = node.inShape(1), y = node.outShape(0);
        require(applicable(x.dim(1), w.dim(0), op.groups()), node, x, w, op.groups());
        Geometry g = new Geometry(x.dim(0), x.dim(1), x.dim(2), x.dim(3), y.dim(2), y.dim(3), w.dim(2), w.dim(3),
                op.strideH(), op.strideW(), op.padTop(), op.padLeft(), op.dilationH(), op.dilationW(),
                simd ? SP.length() : 1);
        return new Forward(g, node.in(0), node.in(1), node.out(0), node.epilogue(2), node.runtime(), simd);
    }

    /** Backward-data: dx from (dy, w). */
    static CpuKernel backwardData(Conv2dBackwardData op, CpuNode node) {
        return backwardData(op, node, VectorConfig.SIMD);
    }

    /** The same with SIMD or the scalar path (tests). */
    static CpuKernel backwardData(Conv2dBackwardData op, CpuNode node, boolean simd) {
        Shape dy = node.inShape(0), w = node.inShape(1), dx = node.outShape(0);
        require(applicable(dx.dim(1), w.dim(0), op.groups()), node, dx, w, op.groups());
        Geometry g = new Geometry(dx.dim(0), dx.dim(1), dx.dim(2), dx.dim(3), dy.dim(2), dy.dim(3), w.dim(2), w.dim(3),
                op.strideH(), op.strideW(), op.padTop(), op.padLeft(), op.dilationH(), op.dilationW(),
                simd ? SP.length() : 1);
        return new BackwardData(g, node.in(0), node.in(1), node.out(0), node.runtime(), simd);
    }

    /** Backward-filter: dw from (x, dy), summed over the batch. */
    static CpuKernel backwardFilter(Conv2dBackwardFilter op, CpuNode node) {
        return backwardFilter(op, node, VectorConfig.SIMD);
    }

    /** The same with SIMD or the scalar path (tests). */
    static CpuKernel backwardFilter(Conv2dBackwardFilter op, CpuNode node, boolean simd) {
        Shape x = node.inShape(0), dy = node.inShape(1), dw = node.outShape(0);
        require(applicable(x.dim(1), dw.dim(0), op.groups()), node, x, dw, op.groups());
        Geometry g = new Geometry(x.dim(0), x.dim(1), x.dim(2), x.dim(3), dy.dim(2), dy.dim(3), dw.dim(2), dw.dim(3),
                op.strideH(), op.strideW(), op.padTop(), op.padLeft(), op.dilationH(), op.dilationW(),
                simd ? SP.length() : 1);
        return new BackwardFilter(g, node.in(0), node.in(1), node.out(0), node.runtime(), simd);
    }

    private static void require(boolean ok, CpuNode node, Shape x, Shape w, int groups) {
        if (!ok) throw new IllegalArgumentException("node '" + node.name() + "': the depthwise kernel needs groups ="
                + " C = O, got C = " + x.dim(1) + ", O = " + w.dim(0) + ", groups = " + groups + "; the plan's"
                + " algorithm '" + node.algorithmEntry() + "' does not fit this convolution");
    }

    /**
     * The polyphase layout of one depthwise convolution: x[N][C][H][W] -> y[N][C][Ho][Wo], kernel kH x kW.
     * Phase plane p starts at {@code p * stride} floats; {@link #tap} holds each tap's offset; outputs are
     * computed for q in [0, qEnd), q = oy * pw + ox, qEnd a multiple of the vector length.
     */
    static final class Geometry {
        final int n, c, h, w, ho, wo, kh, kw, sh, sw, pt, pl, dh, dw;
        final int ph, pw, stride, qEnd, phases;
        final int[] tap;

        Geometry(int n, int c, int h, int w, int ho, int wo, int kh, int kw, int sh, int sw, int pt, int pl,
                 int dh, int dw, int vl) {
            this.n = n; this.c = c; this.h = h; this.w = w; this.ho = ho; this.wo = wo; this.kh = kh; this.kw = kw;
            this.sh = sh; this.sw = sw; this.pt = pt; this.pl = pl; this.dh = dh; this.dw = dw;
            // The padded extent the outputs read (the end padding only matters through Ho, Wo), or the input's
            int hp = Math.max(pt + h, (ho - 1) * sh + (kh - 1) * dh + 1);
            int wp = Math.max(pl + w, (wo - 1) * sw + (kw - 1) * dw + 1);
            ph = Math.ceilDiv(hp, sh);
            pw = Math.ceilDiv(wp, sw);
            phases = sh * sw;
            qEnd = Math.ceilDiv(ho * pw, vl) * vl;
            tap = new int[kh * kw];
            int maxOff = 0;
            for (int ky = 0; ky < kh; ky++)
                for (int kx = 0; kx < kw; kx++) {
                    int ry = ky * dh, cx = kx * dw;
                    maxOff = Math.max(maxOff, (ry / sh) * pw + cx / sw);
                }
            // A phase plane holds ph rows of pw, plus what the dropped columns of the last rows read past them
            stride = Math.max(ph * pw, qEnd + maxOff);
            for (int ky = 0; ky < kh; ky++)
                for (int kx = 0; kx < kw; kx++) {
                    int ry = ky * dh, cx = kx * dw;
                    tap[ky * kw + kx] = ((ry % sh) * sw + cx % sw) * stride + (ry / sh) * pw + cx / sw;
                }
        }

        int taps() { return kh * kw; }

        int polyphaseSize() { return phases * stride; }

        /** The floats of one plane of one tensor of this convolution: 2-D flop count of a plane (for threading). */
        long planeFlops() { return 2L * ho * wo * kh * kw; }

        // Each plane crosses between the tensor and the heap in one bulk copy: per-row copies of native memory
        // cost more than the rows themselves for maps of 7 to 28 columns.

        /** Input plane (H x W from float index {@code at} of src) into the polyphase buffer; padding untouched. */
        void scatterIn(MemorySegment src, long at, float[] plane, float[] xp) {
            MemorySegment.copy(src, F, at * 4, plane, 0, h * w);
            for (int iy = 0; iy < h; iy++) {
                int r = iy + pt, base = (r % sh) * sw * stride + (r / sh) * pw, from = iy * w;
                if (sw == 1) {
                    System.arraycopy(plane, from, xp, base + pl, w);
                    continue;
                }
                for (int p = 0; p < sw; p++) {
                    int ix = Math.floorMod(p - pl, sw), dst = base + p * stride + (ix + pl) / sw;
                    for (; ix < w; ix += sw) xp[dst++] = plane[from + ix];
                }
            }
        }

        /** The inverse of {@link #scatterIn}: the input-plane positions of the polyphase buffer into dst. */
        void gatherOut(float[] xp, float[] plane, MemorySegment dst, long at) {
            for (int iy = 0; iy < h; iy++) {
                int r = iy + pt, base = (r % sh) * sw * stride + (r / sh) * pw, to = iy * w;
                if (sw == 1) {
                    System.arraycopy(xp, base + pl, plane, to, w);
                    continue;
                }
                for (int p = 0; p < sw; p++) {
                    int ix = Math.floorMod(p - pl, sw), src = base + p * stride + (ix + pl) / sw;
                    for (; ix < w; ix += sw) plane[to + ix] = xp[src++];
                }
            }
            MemorySegment.copy(plane, 0, dst, F, at * 4, h * w);
        }

        /** Output plane (Ho x Wo at float index {@code at}) into the q layout; dropped columns untouched (zero). */
        void outToFlat(MemorySegment src, long at, float[] outPlane, float[] flat) {
            MemorySegment.copy(src, F, at * 4, outPlane, 0, ho * wo);
            for (int oy = 0; oy < ho; oy++) System.arraycopy(outPlane, oy * wo, flat, oy * pw, wo);
        }

        /** The q layout's outputs (columns below Wo) into an Ho x Wo plane at float index {@code at} of dst. */
        void flatToOut(float[] flat, float[] outPlane, MemorySegment dst, long at) {
            for (int oy = 0; oy < ho; oy++) System.arraycopy(flat, oy * pw, outPlane, oy * wo, wo);
            MemorySegment.copy(outPlane, 0, dst, F, at * 4, ho * wo);
        }
    }


    /**
     * The vector species, a static final constant: the Vector API compiles to vector instructions only where the
     * species is a constant in the compiled method (from a field, or as an argument of a method compiled on its own,
     * the forward pass measured up to 20x slower).
     */
    private static final VectorSpecies<Float> SP = VectorConfig.SPECIES;

    /**
     * The runtime splits work by GEMM flops (a share must be worth 8 MFLOP of GEMM, about 130 us here); a depthwise
     * flop takes several times longer (7-12 GFLOP/s on one core against the GEMM's 60-80), so its count is scaled
     * by this to compare time with time.
     */
    private static final long TIME_FLOPS = 6;

    /** acc[q] = sum over taps i of xp[tap[i] + q] * k[k0 + i], for q in [0, qEnd), a vector of outputs at a time. */
    private static void taps(float[] xp, int[] tap, float[] k, int k0, float[] acc, int qEnd) {
        for (int q = 0; q < qEnd; q += SP.length()) {
            FloatVector s = FloatVector.zero(SP);
            for (int i = 0; i < tap.length; i++)
                s = FloatVector.fromArray(SP, xp, tap[i] + q).fma(FloatVector.broadcast(SP, k[k0 + i]), s);
            s.intoArray(acc, q);
        }
    }

    /** xp[off + q] += f[q] * k for q in [0, qEnd). */
    private static void scatter(float[] f, float k, float[] xp, int off, int qEnd) {
        FloatVector vk = FloatVector.broadcast(SP, k);
        for (int q = 0; q < qEnd; q += SP.length())
            FloatVector.fromArray(SP, f, q).fma(vk, FloatVector.fromArray(SP, xp, off + q)).intoArray(xp, off + q);
    }

    /** The lanes at acc[at...] += f[q] * xp[off + q] over q in [0, qEnd), lane by lane. */
    private static void dot(float[] f, float[] xp, int off, int qEnd, float[] acc, int at) {
        FloatVector s = FloatVector.fromArray(SP, acc, at);
        for (int q = 0; q < qEnd; q += SP.length())
            s = FloatVector.fromArray(SP, f, q).fma(FloatVector.fromArray(SP, xp, off + q), s);
        s.intoArray(acc, at);
    }

    /** y = sum over taps of w * x, vector by vector of the q layout, then rows out with the epilogue. */
    static final class Forward implements CpuKernel {
        private final Geometry g;
        private final MemorySegment x, w, y;
        private final Epilogue epilogue;
        private final CpuRuntime rt;
        private final boolean simd;
        private final float[][] xp, acc, plane, outPlane;
        private final float[] wt;                 // every channel's taps, read once per run
        private final CpuRuntime.RangeTask task;

        Forward(Geometry g, MemorySegment x, MemorySegment w, MemorySegment y, Epilogue epilogue, CpuRuntime rt,
                boolean simd) {
            this.g = g; this.x = x; this.w = w; this.y = y; this.epilogue = epilogue; this.rt = rt; this.simd = simd;
            int t = rt.threads();
            xp = new float[t][g.polyphaseSize()];
            acc = new float[t][g.qEnd];
            plane = new float[t][g.h * g.w];
            outPlane = new float[t][g.ho * g.wo];
            wt = new float[g.c * g.taps()];
            task = (worker, from, to) -> {
                for (int p = from; p < to; p++) plane(worker, p);
            };
        }

        @Override public void run(RunContext ctx) {
            if (epilogue != null) epilogue.refresh();
            MemorySegment.copy(w, F, 0, wt, 0, wt.length);
            rt.parallelFor(g.n * g.c, TIME_FLOPS * g.planeFlops() * g.n * g.c, task);
        }

        private void plane(int worker, int p) {
            int ch = p % g.c, k = ch * g.taps();
            float[] xpw = xp[worker], a = acc[worker];
            g.scatterIn(x, (long) p * g.h * g.w, plane[worker], xpw);
            int[] tap = g.tap;
            if (!simd) {
                for (int q = 0; q < g.qEnd; q++) {
                    float s = 0f;
                    for (int i = 0; i < tap.length; i++) s = Math.fma(xpw[tap[i] + q], wt[k + i], s);
                    a[q] = s;
                }
            } else {
                taps(xpw, tap, wt, k, a, g.qEnd);
            }
            long at = (long) p * g.ho * g.wo;
            g.flatToOut(a, outPlane[worker], y, at);
            if (epilogue != null) epilogue.apply(y, at, ch, g.ho * g.wo);
        }
    }

    /** dx: each tap scatters dy * w back into the polyphase buffer, whose input positions are then written out. */
    static final class BackwardData implements CpuKernel {
        private final Geometry g;
        private final MemorySegment dy, w, dx;
        private final CpuRuntime rt;
        private final boolean simd;
        private final float[][] xp, flat, plane, outPlane;
        private final float[] wt;
        private final CpuRuntime.RangeTask task;

        BackwardData(Geometry g, MemorySegment dy, MemorySegment w, MemorySegment dx, CpuRuntime rt,
                     boolean simd) {
            this.g = g; this.dy = dy; this.w = w; this.dx = dx; this.rt = rt; this.simd = simd;
            int t = rt.threads();
            xp = new float[t][g.polyphaseSize()];
            flat = new float[t][g.qEnd];          // dropped columns stay zero: they scatter nothing
            plane = new float[t][g.h * g.w];
            outPlane = new float[t][g.ho * g.wo];
            wt = new float[g.c * g.taps()];
            task = (worker, from, to) -> {
                for (int p = from; p < to; p++) plane(worker, p);
            };
        }

        @Override public void run(RunContext ctx) {
            MemorySegment.copy(w, F, 0, wt, 0, wt.length);
            rt.parallelFor(g.n * g.c, TIME_FLOPS * g.planeFlops() * g.n * g.c, task);
        }

        private void plane(int worker, int p) {
            float[] xpw = xp[worker], f = flat[worker];
            int k = (p % g.c) * g.taps();
            g.outToFlat(dy, (long) p * g.ho * g.wo, outPlane[worker], f);
            java.util.Arrays.fill(xpw, 0f);
            int[] tap = g.tap;
            for (int i = 0; i < tap.length; i++) {
                int off = tap[i];
                float kv = wt[k + i];
                if (!simd) {
                    for (int q = 0; q < g.qEnd; q++) xpw[off + q] = Math.fma(f[q], kv, xpw[off + q]);
                    continue;
                }
                scatter(f, kv, xpw, off, g.qEnd);
            }
            g.gatherOut(xpw, plane[worker], dx, (long) p * g.h * g.w);
        }
    }

    /** dw: per channel and tap, the dot product of dy (q layout) with the tap's window, summed over the batch. */
    static final class BackwardFilter implements CpuKernel {
        private final Geometry g;
        private final MemorySegment x, dy, dw;
        private final CpuRuntime rt;
        private final boolean simd;
        private final int vl;
        private final float[][] xp, flat, plane, outPlane, acc;
        private final CpuRuntime.RangeTask task;

        BackwardFilter(Geometry g, MemorySegment x, MemorySegment dy, MemorySegment dw, CpuRuntime rt,
                       boolean simd) {
            this.g = g; this.x = x; this.dy = dy; this.dw = dw; this.rt = rt; this.simd = simd;
            this.vl = simd ? SP.length() : 1;
            int t = rt.threads();
            xp = new float[t][g.polyphaseSize()];
            flat = new float[t][g.qEnd];
            plane = new float[t][g.h * g.w];
            outPlane = new float[t][g.ho * g.wo];
            acc = new float[t][g.taps() * vl];
            task = (worker, from, to) -> {
                for (int ch = from; ch < to; ch++) channel(worker, ch);
            };
        }

        @Override public void run(RunContext ctx) {
            rt.parallelFor(g.c, TIME_FLOPS * g.planeFlops() * g.n * g.c, task);
        }

        private void channel(int worker, int ch) {
            float[] xpw = xp[worker], f = flat[worker], a = acc[worker];
            java.util.Arrays.fill(a, 0f);
            int[] tap = g.tap;
            for (int img = 0; img < g.n; img++) {
                long p = (long) img * g.c + ch;
                g.scatterIn(x, p * g.h * g.w, plane[worker], xpw);
                g.outToFlat(dy, p * g.ho * g.wo, outPlane[worker], f);
                for (int i = 0; i < tap.length; i++) {
                    int off = tap[i];
                    if (!simd) {
                        float s = a[i];
                        for (int q = 0; q < g.qEnd; q++) s = Math.fma(f[q], xpw[off + q], s);
                        a[i] = s;
                        continue;
                    }
                    dot(f, xpw, off, g.qEnd, a, i * vl);
                }
            }
            for (int i = 0; i < tap.length; i++) {
                float s = 0f;
                for (int lane = 0; lane < vl; lane++) s += a[i * vl + lane];   // lanes in order: deterministic
                dw.setAtIndex(F, (long) ch * tap.length + i, s);
            }
        }
    }
}
