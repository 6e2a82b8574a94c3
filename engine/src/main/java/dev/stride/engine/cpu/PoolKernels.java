package dev.stride.engine.cpu;

import dev.stride.engine.PoolWindows;
import dev.stride.graph.Shape;
import dev.stride.graph.op.AvgPool2d;
import dev.stride.graph.op.AvgPool2dBackward;
import dev.stride.graph.op.MaxPool2d;
import dev.stride.graph.op.MaxPool2dBackward;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Cpu kernels for pooling, upsampling and normalisation: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Upsample2d and
 * their backwards ({@link ResampleKernels}), BatchNorm2d train/infer and backwards ({@link BatchNormKernels}).
 *
 * <p>Max and average pooling work plane by plane ((n, c) planes split over the workers). Each plane is first
 * re-laid out by {@link PhaseSplitPlane}, so that a vector of consecutive output columns reads one vector per
 * window tap at any stride, dilation and padding; padding holds -inf (max) or 0 (average) and costs no branch.
 *
 * <p>Max pooling keeps the reference's rule exactly: taps are scanned row-major and a tap replaces the running
 * maximum when it is strictly greater or NaN, so ties go to the first maximum and NaN propagates; the backward
 * finds the same argmax and accumulates each input cell's gradient in double in output order, as the reference
 * does, so its float result is the reference's float result.
 */
final class PoolKernels {
    private PoolKernels() {}

    static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    /**
     * The vector species of every loop here. It must be a compile-time constant (a static final): with the species
     * in an instance field the same max-pooling loop measured about 10x slower, as the Vector API's intrinsics
     * then fall back to generic code.
     */
    static final VectorSpecies<Float> S = VectorConfig.SPECIES;
    static final VectorSpecies<Integer> INTS = S.withLanes(int.class);

    static void register(CpuKernelRegistry r) { register(r, VectorConfig.SIMD); }

    /** Registers every kernel of this family on the SIMD or the scalar path (tests run both in one JVM). */
    static void register(CpuKernelRegistry r, boolean simd) {
        r.register(MaxPool2d.class, (op, node) -> {
            Shape x = node.inShape(0), y = node.outShape(0);
            if (TwoByTwo.applies(op, x, y)) {
                TwoByTwo pool = new TwoByTwo(x, y, simd);
                return planeLoop(node, x, y, 4, pool::newScratch,
                        (s, p) -> pool.forward(node.in(0), p * pool.inPlane, node.out(0), p * pool.outPlane, s));
            }
            MaxPool pool = new MaxPool(geometry(op, x, y), simd, op.kW(), op.dilationW());
            return planeLoop(node, x, y, op.kH() * op.kW(), pool::newScratch,
                    (s, p) -> pool.forward(node.in(0), p * s.inPlane, node.out(0), p * s.outPlane, s.split));
        });
        r.register(MaxPool2dBackward.class, (op, node) -> {
            Shape x = node.inShape(0), y = node.inShape(1);
            if (TwoByTwo.applies(op.forward(), x, y)) {
                TwoByTwo pool = new TwoByTwo(x, y, simd);
                return planeLoop(node, x, y, 4, pool::newScratch, (s, p) -> pool.backward(node.in(0),
                        p * pool.inPlane, node.in(1), p * pool.outPlane, node.out(0), s));
            }
            MaxPool pool = new MaxPool(geometry(op.forward(), x, y), simd, op.kW(), op.dilationW());
            return planeLoop(node, x, y, op.kH() * op.kW(), pool::newScratch,
                    (s, p) -> pool.backward(node.in(0), p * s.inPlane, node.in(1), p * s.outPlane,
                            node.out(0), s));
        });
        r.register(AvgPool2d.class, (op, node) -> {
            Shape x = node.inShape(0), y = node.outShape(0);
            AvgPool pool = new AvgPool(op, x.dim(2), x.dim(3), y.dim(2), y.dim(3), simd);
            return planeLoop(node, x, y, op.kH() * op.kW(), pool::newScratch,
                    (s, p) -> pool.forward(node.in(0), p * s.inPlane, node.out(0), p * s.outPlane, s.split));
        });
        r.register(AvgPool2dBackward.class, (op, node) -> {
            Shape y = node.inShape(0), x = node.outShape(0);
            AvgPool pool = new AvgPool(op.forward(), op.inH(), op.inW(), y.dim(2), y.dim(3), simd);
            return planeLoop(node, x, y, op.kH() * op.kW(), pool::newScratch,
                    (s, p) -> pool.backward(node.in(0), p * s.outPlane, node.out(0), p * s.inPlane, s));
        });
        ResampleKernels.register(r, simd);
        BatchNormKernels.register(r, simd);
    }

    private static PhaseSplitPlane geometry(MaxPool2d op, Shape x, Shape y) {
        return new PhaseSplitPlane(x.dim(2), x.dim(3), y.dim(2), y.dim(3), op.kH(), op.kW(), op.strideH(),
                op.strideW(), op.padTop(), op.padLeft(), op.dilationH(), op.dilationW());
    }

    // ---------------------------------------------------------------------------------------------------------
    // The plane loop every pooling kernel shares

    /** One worker's scratch for a plane kernel; {@code inPlane}/{@code outPlane} are the plane sizes in floats. */
    static class PlaneScratch {
        final long inPlane, outPlane;
        final float[] split;
        double[] acc;
        int[] lanes;
        float[] row;

        PlaneScratch(long inPlane, long outPlane, int splitSize) { this(inPlane, outPlane, new float[splitSize]); }

        PlaneScratch(long inPlane, long outPlane, float[] split) {
            this.inPlane = inPlane;
            this.outPlane = outPlane;
            this.split = split;
        }
    }

    @FunctionalInterface
    interface ScratchFactory { PlaneScratch create(long inPlane, long outPlane); }

    @FunctionalInterface
    interface PlaneTask { void run(PlaneScratch s, long plane); }

    /**
     * The kernel that runs {@code task} over the N*C planes, split over the workers when the work is large: each
     * plane is computed by one worker, in the same order, so the result does not depend on the thread count.
     * {@code x} is the pooled operand's input shape, {@code y} its output shape (for a backward, the shape of dy).
     */
    static CpuKernel planeLoop(CpuNode node, Shape x, Shape y, int taps, ScratchFactory scratch, PlaneTask task) {
        CpuRuntime rt = node.runtime();
        int planes = x.dim(0) * x.dim(1);
        long inPlane = (long) x.dim(2) * x.dim(3), outPlane = (long) y.dim(2) * y.dim(3);
        PlaneScratch[] perWorker = new PlaneScratch[rt.threads()];
        for (int w = 0; w < perWorker.length; w++) perWorker[w] = scratch.create(inPlane, outPlane);
        long cost = StreamingCost.of(planes * (inPlane + outPlane * (taps + 1)));
        return ctx -> rt.parallelFor(planes, cost, (w, from, to) -> {
            PlaneScratch s = perWorker[w];
            for (int p = from; p < to; p++) task.run(s, p);
        });
    }

    // ---------------------------------------------------------------------------------------------------------
    // Max pooling

    private static final class MaxPool {
        private final PhaseSplitPlane g;
        private final boolean simd;
        private final int kW, dilationW;

        MaxPool(PhaseSplitPlane g, boolean simd, int kW, int dilationW) {
            this.g = g;
            this.simd = simd;
            this.kW = kW;
            this.dilationW = dilationW;
        }

        PlaneScratch newScratch(long inPlane, long outPlane) {
            PlaneScratch s = new PlaneScratch(inPlane, outPlane, g.newBuffer(Float.NEGATIVE_INFINITY));
            s.acc = new double[Math.toIntExact(inPlane)];
            s.lanes = new int[S.length()];
            return s;
        }

        /** The running maximum after tap v: replaced when v is greater or NaN (the reference's rule). */
        private static FloatVector keepMax(FloatVector m, FloatVector v) {
            return m.blend(v, v.compare(VectorOperators.GT, m).or(v.compare(VectorOperators.NE, v)));
        }

        void forward(MemorySegment x, long xAt, MemorySegment y, long yAt, float[] s) {
            g.load(x, xAt, s, simd);
            int outW = g.outW(), step = S.length();
            int[] taps = g.tapOffsets();
            boolean vector = simd && outW >= step;
            FloatVector negInf = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (int oh = 0; oh < g.outH; oh++) {
                int[] rows = g.rows(oh);
                long yRow = yAt + (long) oh * outW;
                if (vector) {
                    // Whole vectors; the last one is shifted left to end at outW and so overlaps its neighbour,
                    // rewriting equal values (a 56-wide row would otherwise spend more time in a 7-wide scalar
                    // tail than in its vectors).
                    for (int ow = 0; ow < outW; ow += step) {
                        int at = Math.min(ow, outW - step);
                        FloatVector m = negInf;
                        for (int i : rows) {
                            int base = g.rowBase(i) + at;
                            for (int t : taps) m = keepMax(m, FloatVector.fromArray(S, s, base + t));
                        }
                        m.intoMemorySegment(y, (yRow + at) * Float.BYTES, NATIVE);
                    }
                } else {
                    for (int ow = 0; ow < outW; ow++) {
                        float m = Float.NEGATIVE_INFINITY;
                        for (int i : rows) {
                            int base = g.rowBase(i) + ow;
                            for (int t : taps) {
                                float v = s[base + t];
                                if (v > m || v != v) m = v;
                            }
                        }
                        y.setAtIndex(F, yRow + ow, m);
                    }
                }
            }
        }

        /** dx of one plane: every window's dy goes to its argmax, summed in double in output order. */
        void backward(MemorySegment x, long xAt, MemorySegment dy, long dyAt, MemorySegment dx, PlaneScratch s) {
            float[] split = s.split;
            double[] acc = s.acc;
            int[] lanes = s.lanes;
            g.load(x, xAt, split, simd);
            Arrays.fill(acc, 0);
            int outW = g.outW(), inW = g.inW, strideW = g.strideW, padLeft = g.padLeft, step = S.length();
            int[] taps = g.tapOffsets(), first = g.firstColumns();
            IntVector laneColumn = IntVector.zero(INTS).addIndex(strideW);   // lane k: k * strideW
            for (int oh = 0; oh < g.outH; oh++) {
                int[] rows = g.rows(oh);
                long dyRow = dyAt + (long) oh * outW;
                int ow = 0;
                if (simd) {
                    for (; ow <= outW - step; ow += step) {
                        FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
                        IntVector best = IntVector.fromArray(INTS, first, ow).add(rows[0] * inW);
                        for (int i : rows) {
                            int base = g.rowBase(i) + ow, column = i * inW + ow * strideW - padLeft;
                            for (int j = 0; j < kW; j++) {
                                FloatVector v = FloatVector.fromArray(S, split, base + taps[j]);
                                VectorMask<Float> wins = v.compare(VectorOperators.GT, m).or(v.compare(VectorOperators.NE, v));
                                m = m.blend(v, wins);
                                best = best.blend(laneColumn.add(column + j * dilationW), wins.cast(INTS));
                            }
                        }
                        best.intoArray(lanes, 0);
                        for (int k = 0; k < step; k++) acc[lanes[k]] += dy.getAtIndex(F, dyRow + ow + k);
                    }
                }
                for (; ow < outW; ow++) {
                    float m = Float.NEGATIVE_INFINITY;
                    int best = rows[0] * inW + first[ow];
                    for (int i : rows) {
                        int base = g.rowBase(i) + ow, column = i * inW + ow * strideW - padLeft;
                        for (int j = 0; j < kW; j++) {
                            float v = split[base + taps[j]];
                            if (v > m || v != v) {
                                m = v;
                                best = column + j * dilationW;
                            }
                        }
                    }
                    acc[best] += dy.getAtIndex(F, dyRow + ow);
                }
            }
            long dxAt = xAt;
            for (int i = 0; i < acc.length; i++) dx.setAtIndex(F, dxAt + i, (float) acc[i]);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Max pooling 2x2, stride 2

    /**
     * The most common max pooling, 2x2 windows at stride 2 without padding or dilation (LeNet, VGG), every window
     * whole: a window is two pairs of adjacent input floats, so a vector of outputs is the even and odd lanes of
     * two vectors of each input row, and no phase-split copy of the plane is needed. The windows are disjoint, so
     * the backward writes each input cell once (dy at the window's argmax, zero elsewhere) and needs neither the
     * double accumulator nor a second pass. At batch 64 the general kernel spent 4.6 ns per output on LeNet's
     * 28x28 planes and 27 on its 10x10 ones (rows shorter than a vector: scalar, and a mispredicted branch per
     * tap), its backward 19 and 30; this one 1.2 and 2.3, backward 2.3 and 4.1.
     *
     * <p>The plane is copied to the heap, where a vector may run past the end of a row: rows shorter than a vector
     * (LeNet's second pooling: 5 outputs) are one vector each, whose extra lanes read the next row and write
     * garbage past the row that the next row's stores overwrite (rows go in order; the plane buffers have a
     * vector's slack at the end). Longer rows take whole vectors, the last one shifted left to end at the row's
     * end, overlapping its neighbour with equal values. (Masked loads and stores instead measured 50 times slower.)
     *
     * <p>Same rule as the reference: taps in row-major order, a tap replaces the maximum when greater or NaN; the
     * backward's dy goes to the same argmax, plus 0f, which the reference's double accumulation 0.0 + dy also
     * does (a -0 dy becomes +0).
     */
    private static final class TwoByTwo {
        private static final VectorShuffle<Float> EVEN = VectorShuffle.fromOp(S, i -> 2 * i);
        private static final VectorShuffle<Float> ODD = VectorShuffle.fromOp(S, i -> 2 * i + 1);
        // lanes of [a0 b0 a1 b1 ...]: the first half of the interleaving of a and b, then the second half
        private static final VectorShuffle<Float> ZIP_LO =
                VectorShuffle.fromOp(S, i -> i % 2 == 0 ? i / 2 : S.length() + i / 2);
        private static final VectorShuffle<Float> ZIP_HI =
                VectorShuffle.fromOp(S, i -> i % 2 == 0 ? S.length() / 2 + i / 2 : S.length() + S.length() / 2 + i / 2);

        final int inW, inH, outW, outH;
        final long inPlane, outPlane;
        private final boolean simd;

        TwoByTwo(Shape x, Shape y, boolean simd) {
            inH = x.dim(2);
            inW = x.dim(3);
            outH = y.dim(2);
            outW = y.dim(3);
            inPlane = (long) inH * inW;
            outPlane = (long) outH * outW;
            this.simd = simd && inPlane <= MAX_HEAP_PLANE;
        }

        /** Planes up to this many floats are copied to the heap (the SIMD path); larger ones run scalar. */
        static final int MAX_HEAP_PLANE = 1 << 20;

        static boolean applies(MaxPool2d op, Shape x, Shape y) {
            return op.kH() == 2 && op.kW() == 2 && op.strideH() == 2 && op.strideW() == 2 && op.dilationH() == 1
                    && op.dilationW() == 1 && op.padTop() == 0 && op.padLeft() == 0
                    && 2 * y.dim(2) <= x.dim(2) && 2 * y.dim(3) <= x.dim(3);
        }

        /** Per worker: the input plane, then the output plane (dy and dx for the backward), each with slack. */
        PlaneScratch newScratch(long inPlane, long outPlane) {
            int slack = 2 * S.length();
            return new PlaneScratch(inPlane, outPlane, simd ? new float[2 * ((int) inPlane + slack) + (int) outPlane + slack] : null);
        }

        private static boolean wins(float m, float v) { return v > m || v != v; }

        private static VectorMask<Float> wins(FloatVector m, FloatVector v) {
            return v.compare(VectorOperators.GT, m).or(v.compare(VectorOperators.NE, v));
        }

        void forward(MemorySegment x, long xAt, MemorySegment y, long yAt, PlaneScratch s) {
            if (!simd) {
                for (int oh = 0; oh < outH; oh++) {
                    long a = xAt + 2L * oh * inW, b = a + inW, yRow = yAt + (long) oh * outW;
                    for (int ow = 0; ow < outW; ow++) {
                        long c = 2L * ow;
                        float m = x.getAtIndex(F, a + c), v;
                        if (wins(m, v = x.getAtIndex(F, a + c + 1))) m = v;
                        if (wins(m, v = x.getAtIndex(F, b + c))) m = v;
                        if (wins(m, v = x.getAtIndex(F, b + c + 1))) m = v;
                        y.setAtIndex(F, yRow + ow, m);
                    }
                }
                return;
            }
            float[] h = s.split;
            int step = S.length(), in = (int) inPlane, ya = in + 2 * step;
            MemorySegment.copy(x, F, xAt * 4, h, 0, in);
            for (int oh = 0; oh < outH; oh++) {
                int a = 2 * oh * inW, b = a + inW, yRow = ya + oh * outW;
                for (int ow = 0; ow < outW; ow += step) {
                    int at = outW < step ? 0 : Math.min(ow, outW - step);
                    int ra = a + 2 * at, rb = b + 2 * at;
                    FloatVector a0 = FloatVector.fromArray(S, h, ra), a1 = FloatVector.fromArray(S, h, ra + step);
                    FloatVector b0 = FloatVector.fromArray(S, h, rb), b1 = FloatVector.fromArray(S, h, rb + step);
                    FloatVector m = MaxPool.keepMax(a0.rearrange(EVEN, a1), a0.rearrange(ODD, a1));
                    m = MaxPool.keepMax(MaxPool.keepMax(m, b0.rearrange(EVEN, b1)), b0.rearrange(ODD, b1));
                    m.intoArray(h, yRow + at);
                }
            }
            MemorySegment.copy(h, ya, y, F, yAt * 4, (int) outPlane);
        }

        void backward(MemorySegment x, long xAt, MemorySegment dy, long dyAt, MemorySegment dx, PlaneScratch s) {
            if (!simd) {
                backwardScalar(x, xAt, dy, dyAt, dx);
                return;
            }
            float[] h = s.split;
            int step = S.length(), in = (int) inPlane, ga = in + 2 * step, da = ga + (int) outPlane + 2 * step;
            MemorySegment.copy(x, F, xAt * 4, h, 0, in);
            MemorySegment.copy(dy, F, dyAt * 4, h, ga, (int) outPlane);
            FloatVector zero = FloatVector.zero(S);
            for (int oh = 0; oh < outH; oh++) {
                int a = 2 * oh * inW, b = a + inW, gRow = ga + oh * outW;
                for (int ow = 0; ow < outW; ow += step) {
                    int at = outW < step ? 0 : Math.min(ow, outW - step);
                    int ra = a + 2 * at, rb = b + 2 * at;
                    FloatVector a0 = FloatVector.fromArray(S, h, ra), a1 = FloatVector.fromArray(S, h, ra + step);
                    FloatVector b0 = FloatVector.fromArray(S, h, rb), b1 = FloatVector.fromArray(S, h, rb + step);
                    FloatVector t00 = a0.rearrange(EVEN, a1), t01 = a0.rearrange(ODD, a1);
                    FloatVector t10 = b0.rearrange(EVEN, b1), t11 = b0.rearrange(ODD, b1);
                    VectorMask<Float> w01 = wins(t00, t01);
                    FloatVector m = t00.blend(t01, w01);
                    VectorMask<Float> w10 = wins(m, t10);
                    VectorMask<Float> w11 = wins(m.blend(t10, w10), t11);
                    // the argmax is the last tap that won
                    VectorMask<Float> is10 = w10.andNot(w11), is01 = w01.andNot(w10).andNot(w11);
                    VectorMask<Float> is00 = w01.or(w10).or(w11).not();
                    FloatVector g = FloatVector.fromArray(S, h, gRow + at).add(0f);
                    FloatVector d00 = zero.blend(g, is00), d01 = zero.blend(g, is01);
                    FloatVector d10 = zero.blend(g, is10), d11 = zero.blend(g, w11);
                    d00.rearrange(ZIP_LO, d01).intoArray(h, da + ra);
                    d00.rearrange(ZIP_HI, d01).intoArray(h, da + ra + step);
                    d10.rearrange(ZIP_LO, d11).intoArray(h, da + rb);
                    d10.rearrange(ZIP_HI, d11).intoArray(h, da + rb + step);
                }
                // an odd width's last column belongs to no window (and caught a short row's overrun)
                for (int c = 2 * outW; c < inW; c++) {
                    h[da + a + c] = 0f;
                    h[da + b + c] = 0f;
                }
            }
            // ... as do the rows past the last window
            Arrays.fill(h, da + 2 * outH * inW, da + in, 0f);
            MemorySegment.copy(h, da, dx, F, xAt * 4, in);
        }

        private void backwardScalar(MemorySegment x, long xAt, MemorySegment dy, long dyAt, MemorySegment dx) {
            for (int oh = 0; oh < outH; oh++) {
                long a = xAt + 2L * oh * inW, b = a + inW, dyRow = dyAt + (long) oh * outW;
                for (int ow = 0; ow < outW; ow++) {
                    long c = 2L * ow;
                    float m = x.getAtIndex(F, a + c), v;
                    int best = 0;
                    if (wins(m, v = x.getAtIndex(F, a + c + 1))) { m = v; best = 1; }
                    if (wins(m, v = x.getAtIndex(F, b + c))) { m = v; best = 2; }
                    if (wins(m, x.getAtIndex(F, b + c + 1))) best = 3;
                    float g = dy.getAtIndex(F, dyRow + ow) + 0f;
                    dx.setAtIndex(F, a + c, best == 0 ? g : 0f);
                    dx.setAtIndex(F, a + c + 1, best == 1 ? g : 0f);
                    dx.setAtIndex(F, b + c, best == 2 ? g : 0f);
                    dx.setAtIndex(F, b + c + 1, best == 3 ? g : 0f);
                }
                for (long c = 2L * outW; c < inW; c++) {
                    dx.setAtIndex(F, a + c, 0f);
                    dx.setAtIndex(F, b + c, 0f);
                }
            }
            for (long i = xAt + 2L * outH * inW; i < xAt + inPlane; i++) dx.setAtIndex(F, i, 0f);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Average pooling

    private static final class AvgPool {
        private final PhaseSplitPlane g;
        private final float[] divisor;    // per output cell, PyTorch's count (with or without padding)
        private final boolean simd;

        AvgPool(AvgPool2d op, int inH, int inW, int outH, int outW, boolean simd) {
            this.g = new PhaseSplitPlane(inH, inW, outH, outW, op.kH(), op.kW(), op.strideH(), op.strideW(),
                    op.padTop(), op.padLeft(), 1, 1);
            this.divisor = divisors(op, inH, inW, outH, outW);
            this.simd = simd;
        }

        /** The reference's divisors ({@link PoolWindows#divisors}), in float. */
        static float[] divisors(AvgPool2d op, int inH, int inW, int outH, int outW) {
            double[] div = PoolWindows.divisors(
                    PoolWindows.average(inH, outH, op.kH(), op.strideH(), op.padTop(), op.padBottom()),
                    PoolWindows.average(inW, outW, op.kW(), op.strideW(), op.padLeft(), op.padRight()),
                    op.countIncludePad());
            float[] d = new float[div.length];
            for (int i = 0; i < d.length; i++) d[i] = (float) div[i];
            return d;
        }

        /** The split buffer: zeros in its padding for the forward; the backward zeroes it as an accumulator. */
        PlaneScratch newScratch(long inPlane, long outPlane) {
            PlaneScratch s = new PlaneScratch(inPlane, outPlane, g.newBuffer(0f));
            s.row = new float[g.outW()];
            return s;
        }

        void forward(MemorySegment x, long xAt, MemorySegment y, long yAt, float[] s) {
            g.load(x, xAt, s, simd);
            int outW = g.outW(), step = S.length();
            int[] taps = g.tapOffsets();
            boolean vector = simd && outW >= step;
            for (int oh = 0; oh < g.outH; oh++) {
                int[] rows = g.rows(oh);
                long yRow = yAt + (long) oh * outW;
                int dRow = oh * outW;
                if (vector) {
                    for (int ow = 0; ow < outW; ow += step) {
                        int at = Math.min(ow, outW - step);   // overlapping last vector, as in max pooling
                        FloatVector sum = FloatVector.zero(S);
                        for (int i : rows) {
                            int base = g.rowBase(i) + at;
                            for (int t : taps) sum = sum.add(FloatVector.fromArray(S, s, base + t));
                        }
                        sum.div(FloatVector.fromArray(S, divisor, dRow + at))
                                .intoMemorySegment(y, (yRow + at) * Float.BYTES, NATIVE);
                    }
                } else {
                    for (int ow = 0; ow < outW; ow++) {
                        float sum = 0;
                        for (int i : rows) {
                            int base = g.rowBase(i) + ow;
                            for (int t : taps) sum += s[base + t];
                        }
                        y.setAtIndex(F, yRow + ow, sum / divisor[dRow + ow]);
                    }
                }
            }
        }

        /** dx of one plane: each window spreads dy / divisor over its taps, accumulated in the split layout. */
        void backward(MemorySegment dy, long dyAt, MemorySegment dx, long dxAt, PlaneScratch s) {
            float[] acc = s.split, gRow = s.row;
            Arrays.fill(acc, 0f);
            int outW = g.outW(), step = S.length();
            int[] taps = g.tapOffsets();
            for (int oh = 0; oh < g.outH; oh++) {
                long dyRow = dyAt + (long) oh * outW;
                int dRow = oh * outW;
                int ow = 0;
                if (simd) {
                    for (; ow <= outW - step; ow += step)
                        FloatVector.fromMemorySegment(S, dy, (dyRow + ow) * Float.BYTES, NATIVE)
                                .div(FloatVector.fromArray(S, divisor, dRow + ow)).intoArray(gRow, ow);
                }
                for (; ow < outW; ow++) gRow[ow] = dy.getAtIndex(F, dyRow + ow) / divisor[dRow + ow];
                for (int i : g.rows(oh)) {
                    int base = g.rowBase(i);
                    for (int t : taps) {
                        int at = base + t;
                        int o = 0;
                        if (simd) {
                            for (; o <= outW - step; o += step)
                                FloatVector.fromArray(S, acc, at + o).add(FloatVector.fromArray(S, gRow, o))
                                        .intoArray(acc, at + o);
                        }
                        for (; o < outW; o++) acc[at + o] += gRow[o];
                    }
                }
            }
            g.store(acc, dx, dxAt);
        }
    }
}
