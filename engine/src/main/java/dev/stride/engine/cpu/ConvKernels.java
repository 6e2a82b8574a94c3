package dev.stride.engine.cpu;

import dev.stride.graph.Shape;
import dev.stride.graph.op.BiasGrad;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Conv2dBackwardData;
import dev.stride.graph.op.Conv2dBackwardFilter;
import dev.stride.graph.op.ConvTranspose2d;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Cpu kernels for convolution: Conv2d by the plan's algorithm ({@link ConvChooser}: im2col and 1x1 GEMM in
 * {@link Im2colGemmConv}, depthwise in {@link DepthwiseConv}, Winograd in {@link WinogradKernels}), its data
 * gradient and ConvTranspose2d through GEMM + col2im ({@link Col2imGemmConv}), its filter gradient through
 * im2col + GEMM ({@link Im2colGemmFilterGrad}), and BiasGrad.
 */
final class ConvKernels {
    private ConvKernels() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final VectorSpecies<Float> S = VectorConfig.SPECIES;

    static void register(CpuKernelRegistry r) {
        r.register(Conv2d.class, ConvKernels::forward);
        r.register(Conv2dBackwardData.class, (op, node) -> {
            String a = node.algorithm();
            return switch (a) {
                case "", ConvChooser.IM2COL -> Col2imGemmConv.backwardData(op, node);
                case ConvChooser.WINOGRAD_F2 -> WinogradKernels.backwardData(op, node, 2);
                case ConvChooser.WINOGRAD_F4 -> WinogradKernels.backwardData(op, node, 4);
                case ConvChooser.DEPTHWISE -> DepthwiseConv.backwardData(op, node);
                default -> throw unknown(node, a);
            };
        });
        r.register(Conv2dBackwardFilter.class, (op, node) -> {
            String a = node.algorithm();
            return switch (a) {
                case "", ConvChooser.IM2COL -> Im2colGemmFilterGrad.create(op, node);
                case ConvChooser.DEPTHWISE -> DepthwiseConv.backwardFilter(op, node);
                default -> throw unknown(node, a);
            };
        });
        r.register(ConvTranspose2d.class, Col2imGemmConv::transposed);
        r.register(BiasGrad.class, ConvKernels::biasGrad);
    }

    /** Conv2d by algorithm; "" (a plan compiled for another target) is chosen now, as the cpu target would. */
    static CpuKernel forward(Conv2d op, CpuNode node) {
        String a = node.algorithm();
        if (a.isEmpty()) a = ConvChooser.forward(op, node.node());
        return switch (a) {
            case ConvChooser.IM2COL -> Im2colGemmConv.create(op, node, false);
            case ConvChooser.GEMM_1X1 -> Im2colGemmConv.create(op, node, true);
            case ConvChooser.DEPTHWISE -> DepthwiseConv.forward(op, node);
            case ConvChooser.WINOGRAD_F2 -> WinogradKernels.forward(op, node, 2);
            case ConvChooser.WINOGRAD_F4 -> WinogradKernels.forward(op, node, 4);
            default -> throw unknown(node, a);
        };
    }

    private static IllegalStateException unknown(CpuNode node, String algorithm) {
        return new IllegalStateException("node '" + node.name() + "' (" + node.op().kind() + "): unknown cpu algorithm '"
                + algorithm + "'");
    }

    /**
     * BiasGrad: db[c] = sum of dy[n, c, ...] over n and the rest. Channels are shared out among threads; each
     * channel's planes are summed with vector lanes in float (each plane from its start, so the order is fixed)
     * and the planes added in image order in double.
     */
    static CpuKernel biasGrad(BiasGrad op, CpuNode node) {
        Shape s = node.inShape(0);
        int batch = s.dim(0), channels = s.dim(1);
        long inner = s.size() / Math.max(1, (long) batch * channels);
        MemorySegment dy = node.in(0), db = node.out(0);
        CpuRuntime rt = node.runtime();
        boolean simd = VectorConfig.SIMD;
        CpuRuntime.RangeTask share = (worker, from, to) -> {
            for (int ch = from; ch < to; ch++) {
                double acc = 0;
                for (int n = 0; n < batch; n++) acc += sum(dy, ((long) n * channels + ch) * inner, inner, simd);
                db.setAtIndex(F, ch, (float) acc);
            }
        };
        return ctx -> rt.parallelFor(channels, s.size(), share);
    }

    /**
     * A dense convolution ({@link ConvGeometry#dense()}) with at most this many output channels per group runs as
     * dot products and axpys instead of a GEMM: the GEMM's M would be under one micro-tile, and it packs the whole
     * input (N x C*H*W) for a few rows of output. DCGAN's 7x7 head on 7x7 maps (one output channel, 6272-long
     * rows, batch 64): forward 0.65 ms as a GEMM, 0.12 as dot products; filter gradient 0.4 and 0.18; the data
     * gradient, which writes the 1.6 MB dx either way, 0.25 both.
     */
    static final int THIN_DENSE_ROWS = 4;

    /** The sum of a[aAt + i] * b[bAt + i], i < len: four vector accumulators in float, their lanes summed by
     * {@link TierStableMath#sum}, then a scalar tail. */
    static float dot(MemorySegment a, long aAt, MemorySegment b, long bAt, long len, boolean simd) {
        long i = 0;
        float total = 0f;
        if (simd) {
            int step = S.length();
            FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
            for (; i <= len - 4L * step; i += 4L * step) {
                long p = (aAt + i) * 4, q = (bAt + i) * 4;
                s0 = FloatVector.fromMemorySegment(S, a, p, NATIVE).fma(FloatVector.fromMemorySegment(S, b, q, NATIVE), s0);
                s1 = FloatVector.fromMemorySegment(S, a, p + step * 4L, NATIVE)
                        .fma(FloatVector.fromMemorySegment(S, b, q + step * 4L, NATIVE), s1);
                s2 = FloatVector.fromMemorySegment(S, a, p + step * 8L, NATIVE)
                        .fma(FloatVector.fromMemorySegment(S, b, q + step * 8L, NATIVE), s2);
                s3 = FloatVector.fromMemorySegment(S, a, p + step * 12L, NATIVE)
                        .fma(FloatVector.fromMemorySegment(S, b, q + step * 12L, NATIVE), s3);
            }
            for (; i <= len - step; i += step)
                s0 = FloatVector.fromMemorySegment(S, a, (aAt + i) * 4, NATIVE)
                        .fma(FloatVector.fromMemorySegment(S, b, (bAt + i) * 4, NATIVE), s0);
            // TierStableMath.sum, not reduceLanes(ADD): see sum below.
            total = TierStableMath.sum(s0.add(s1).add(s2.add(s3)));
        }
        for (; i < len; i++) total = Math.fma(a.getAtIndex(F, aAt + i), b.getAtIndex(F, bAt + i), total);
        return total;
    }

    /** y[yAt + i] += alpha * x[xAt + i], i < len (one fused multiply-add per element). */
    static void axpy(float alpha, MemorySegment x, long xAt, MemorySegment y, long yAt, long len, boolean simd) {
        long i = 0;
        if (simd) {
            FloatVector va = FloatVector.broadcast(S, alpha);
            for (int step = S.length(); i <= len - step; i += step) {
                long p = (yAt + i) * 4;
                FloatVector.fromMemorySegment(S, x, (xAt + i) * 4, NATIVE)
                        .fma(va, FloatVector.fromMemorySegment(S, y, p, NATIVE)).intoMemorySegment(y, p, NATIVE);
            }
        }
        for (; i < len; i++) y.setAtIndex(F, yAt + i, Math.fma(alpha, x.getAtIndex(F, xAt + i), y.getAtIndex(F, yAt + i)));
    }

    /**
     * The sum of len floats from float index at: four vector accumulators (lane-wise, in index order), added as
     * (s0 + s1) + (s2 + s3), their lanes summed by {@link TierStableMath#sum}, then the scalar tail in order.
     */
    static float sum(MemorySegment a, long at, long len, boolean simd) {
        long i = 0;
        float total = 0f;
        if (simd) {
            int step = S.length();
            FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
            for (; i <= len - 4L * step; i += 4L * step) {
                long b = (at + i) * 4;
                s0 = s0.add(FloatVector.fromMemorySegment(S, a, b, NATIVE));
                s1 = s1.add(FloatVector.fromMemorySegment(S, a, b + step * 4L, NATIVE));
                s2 = s2.add(FloatVector.fromMemorySegment(S, a, b + step * 8L, NATIVE));
                s3 = s3.add(FloatVector.fromMemorySegment(S, a, b + step * 12L, NATIVE));
            }
            for (; i <= len - step; i += step) s0 = s0.add(FloatVector.fromMemorySegment(S, a, (at + i) * 4, NATIVE));
            // Not reduceLanes(ADD): its order differs between the interpreter and C2, so the bits would depend
            // on the JIT tier of the thread that runs the share (and so on the thread count and the run's history).
            total = TierStableMath.sum(s0.add(s1).add(s2.add(s3)));
        }
        for (; i < len; i++) total += a.getAtIndex(F, at + i);
        return total;
    }
}
