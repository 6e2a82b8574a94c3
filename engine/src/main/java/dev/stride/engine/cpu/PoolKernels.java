package dev.stride.engine.cpu;

import dev.stride.graph.Shape;
import dev.stride.graph.op.AvgPool2d;
import dev.stride.graph.op.AvgPool2dBackward;
import dev.stride.graph.op.MaxPool2d;
import dev.stride.graph.op.MaxPool2dBackward;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
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
            MaxPool pool = new MaxPool(geometry(op, x, y), simd, op.kW(), op.dilationW());
            return planeLoop(node, x, y, op.kH() * op.kW(), pool::newScratch,
                    (s, p) -> pool.forward(node.in(0), p * s.inPlane, node.out(0), p * s.outPlane, s.split));
        });
        r.register(MaxPool2dBackward.class, (op, node) -> {
            Shape x = node.inShape(0), y = node.inShape(1);
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

        /**
         * The reference's divisors: with countIncludePad the window's cells inside the padded input (a ceil-mode
         * window is clipped at {@code H + padBottom}), else its cells inside the real input.
         */
        static float[] divisors(AvgPool2d op, int inH, int inW, int outH, int outW) {
            int[] hPadded = new int[outH], hReal = new int[outH], wPadded = new int[outW], wReal = new int[outW];
            axis(inH, op.kH(), op.strideH(), op.padTop(), op.padBottom(), hPadded, hReal);
            axis(inW, op.kW(), op.strideW(), op.padLeft(), op.padRight(), wPadded, wReal);
            float[] d = new float[outH * outW];
            for (int a = 0; a < outH; a++)
                for (int b = 0; b < outW; b++)
                    d[a * outW + b] = op.countIncludePad() ? (float) hPadded[a] * wPadded[b] : (float) hReal[a] * wReal[b];
            return d;
        }

        private static void axis(int in, int k, int s, int padBefore, int padAfter, int[] padded, int[] real) {
            for (int o = 0; o < padded.length; o++) {
                int start = o * s - padBefore, end = Math.min(start + k, in + padAfter);
                padded[o] = end - start;
                real[o] = Math.min(end, in) - Math.max(start, 0);
            }
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
