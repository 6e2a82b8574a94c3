package dev.stride.engine.cpu;

import dev.stride.engine.PoolWindows;
import dev.stride.engine.ResampleTaps;
import dev.stride.graph.Shape;
import dev.stride.graph.op.AdaptiveAvgPool2d;
import dev.stride.graph.op.AdaptiveAvgPool2dBackward;
import dev.stride.graph.op.Upsample2d;
import dev.stride.graph.op.Upsample2dBackward;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Kernels that map a plane onto a plane of another size through per-row and per-column tables: adaptive average
 * pooling (bins) and nearest/bilinear resizing, with their backwards. Both are separable, so the forwards do the
 * row direction with contiguous vector arithmetic and the column direction through the tables (a gather from a
 * copy of the plane for resizing).
 *
 * <p>The resize backwards scatter each dy cell into up to four input cells; they run in scalar code, in double,
 * in the reference's order and with its weights, so their float results equal the reference's. A scatter with
 * colliding destinations has no vector form that would keep that order.
 */
final class ResampleKernels {
    private ResampleKernels() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final VectorSpecies<Float> S = PoolKernels.S;   // a constant: see PoolKernels.S

    static void register(CpuKernelRegistry r, boolean simd) {
        r.register(AdaptiveAvgPool2d.class, (op, node) -> {
            Shape x = node.inShape(0), y = node.outShape(0);
            Bins bins = new Bins(x.dim(2), x.dim(3), y.dim(2), y.dim(3));
            return PoolKernels.planeLoop(node, x, y, 1, (in, out) -> bins.scratch(in, out, false),
                    (s, p) -> bins.forward(node.in(0), p * s.inPlane, node.out(0), p * s.outPlane, s.row, simd));
        });
        r.register(AdaptiveAvgPool2dBackward.class, (op, node) -> {
            Shape y = node.inShape(0), x = node.outShape(0);
            Bins bins = new Bins(x.dim(2), x.dim(3), y.dim(2), y.dim(3));
            return PoolKernels.planeLoop(node, x, y, 1, (in, out) -> bins.scratch(in, out, true),
                    (s, p) -> bins.backward(node.in(0), p * s.outPlane, node.out(0), p * s.inPlane, s, simd));
        });
        r.register(Upsample2d.class, (op, node) -> {
            Shape x = node.inShape(0), y = node.outShape(0);
            Resize rs = new Resize(op.mode(), x.dim(2), x.dim(3), y.dim(2), y.dim(3), op.alignCorners(), simd);
            return PoolKernels.planeLoop(node, x, y, 4, (in, out) -> rs.scratch(in, out, false),
                    (s, p) -> rs.forward(node.in(0), p * s.inPlane, node.out(0), p * s.outPlane, s));
        });
        r.register(Upsample2dBackward.class, (op, node) -> {
            Shape y = node.inShape(0), x = node.outShape(0);
            Resize rs = new Resize(op.mode(), op.inH(), op.inW(), y.dim(2), y.dim(3), op.alignCorners(), simd);
            return PoolKernels.planeLoop(node, x, y, 4, (in, out) -> rs.scratch(in, out, true),
                    (s, p) -> rs.backward(node.in(0), p * s.outPlane, node.out(0), p * s.inPlane, s));
        });
    }

    /** {@code dst[0, n) += src[from, from + n)} of a plane in a segment. */
    private static void addRow(float[] dst, MemorySegment src, long from, int n, boolean simd) {
        int i = 0;
        if (simd) {
            for (int step = S.length(); i <= n - step; i += step)
                FloatVector.fromArray(S, dst, i).add(FloatVector.fromMemorySegment(S, src, (from + i) * Float.BYTES, NATIVE))
                        .intoArray(dst, i);
        }
        for (; i < n; i++) dst[i] += src.getAtIndex(F, from + i);
    }

    /** {@code dst[0, n) += src[from, from + n)}. */
    private static void addRow(float[] dst, float[] src, int from, int n, boolean simd) {
        int i = 0;
        if (simd) {
            for (int step = S.length(); i <= n - step; i += step)
                FloatVector.fromArray(S, dst, i).add(FloatVector.fromArray(S, src, from + i)).intoArray(dst, i);
        }
        for (; i < n; i++) dst[i] += src[from + i];
    }

    /** Sum of {@code a[from, to)}: vector lanes then a lane reduction, and a scalar tail. */
    private static float sum(float[] a, int from, int to, boolean simd) {
        int i = from;
        float total = 0;
        if (simd && to - from >= 2 * S.length()) {
            FloatVector acc = FloatVector.zero(S);
            for (int step = S.length(); i <= to - step; i += step) acc = acc.add(FloatVector.fromArray(S, a, i));
            total = TierStableMath.sum(acc);
        }
        for (; i < to; i++) total += a[i];
        return total;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Adaptive average pooling

    /** PyTorch's adaptive bins along both axes, and for each input row the output rows whose bins hold it. */
    private static final class Bins {
        final int inH, inW, outH, outW;
        final int[] h0, h1, w0, w1;
        final int[] firstOutRow, endOutRow;   // per input row: output rows [first, end) whose bins contain it

        Bins(int inH, int inW, int outH, int outW) {
            this.inH = inH;
            this.inW = inW;
            this.outH = outH;
            this.outW = outW;
            PoolWindows.Boxes rows = PoolWindows.adaptive(inH, outH), cols = PoolWindows.adaptive(inW, outW);
            h0 = rows.lo();
            h1 = rows.hi();
            w0 = cols.lo();
            w1 = cols.hi();
            // Bin starts and ends grow with the output index, so the bins holding a row are a contiguous range.
            firstOutRow = new int[inH];
            endOutRow = new int[inH];
            Arrays.fill(firstOutRow, -1);
            for (int a = 0; a < outH; a++)
                for (int i = h0[a]; i < h1[a]; i++) {
                    if (firstOutRow[i] < 0) firstOutRow[i] = a;
                    endOutRow[i] = a + 1;
                }
        }

        PoolKernels.PlaneScratch scratch(long inPlane, long outPlane, boolean backward) {
            PoolKernels.PlaneScratch s = new PoolKernels.PlaneScratch(inPlane, outPlane, backward ? outH * inW : 0);
            s.row = new float[inW];
            return s;
        }

        /** Sums each bin's rows into a row of inW, then each bin's columns of that row; divides by the area. */
        void forward(MemorySegment x, long xAt, MemorySegment y, long yAt, float[] row, boolean simd) {
            for (int a = 0; a < outH; a++) {
                MemorySegment.copy(x, F, (xAt + (long) h0[a] * inW) * Float.BYTES, row, 0, inW);
                for (int i = h0[a] + 1; i < h1[a]; i++) addRow(row, x, xAt + (long) i * inW, inW, simd);
                float rows = h1[a] - h0[a];
                for (int b = 0; b < outW; b++)
                    y.setAtIndex(F, yAt + (long) a * outW + b, sum(row, w0[b], w1[b], simd) / (rows * (w1[b] - w0[b])));
            }
        }

        /**
         * Spreads each dy / area over its bin: first along W into one row of inW per output row ({@code e}), then
         * every input row adds the rows of the bins that hold it.
         */
        void backward(MemorySegment dy, long dyAt, MemorySegment dx, long dxAt, PoolKernels.PlaneScratch scratch, boolean simd) {
            float[] e = scratch.split, row = scratch.row;
            Arrays.fill(e, 0f);
            for (int a = 0; a < outH; a++) {
                float rows = h1[a] - h0[a];
                for (int b = 0; b < outW; b++) {
                    float g = dy.getAtIndex(F, dyAt + (long) a * outW + b) / (rows * (w1[b] - w0[b]));
                    for (int c = a * inW + w0[b], end = a * inW + w1[b]; c < end; c++) e[c] += g;
                }
            }
            for (int i = 0; i < inH; i++) {
                Arrays.fill(row, 0f);
                for (int a = firstOutRow[i]; a < endOutRow[i]; a++) addRow(row, e, a * inW, inW, simd);
                MemorySegment.copy(row, 0, dx, F, (dxAt + (long) i * inW) * Float.BYTES, inW);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Resizing

    private static final class Resize {
        final boolean nearest;
        final int inH, inW, outH, outW;
        final ResampleTaps h, w;
        final float[] hw0, hw1, ww0, ww1;
        final boolean simd;

        Resize(Upsample2d.Mode mode, int inH, int inW, int outH, int outW, boolean alignCorners, boolean simd) {
            this.nearest = mode == Upsample2d.Mode.NEAREST;
            this.inH = inH;
            this.inW = inW;
            this.outH = outH;
            this.outW = outW;
            this.h = ResampleTaps.upsample(mode, inH, outH, alignCorners);
            this.w = ResampleTaps.upsample(mode, inW, outW, alignCorners);
            this.hw0 = h.w0f();
            this.hw1 = h.w1f();
            this.ww0 = w.w0f();
            this.ww1 = w.w1f();
            this.simd = simd;
        }

        /** Forward: a float copy of the plane plus two interpolated rows; backward: a double plane accumulator. */
        PoolKernels.PlaneScratch scratch(long inPlane, long outPlane, boolean backward) {
            if (backward) {
                PoolKernels.PlaneScratch s = new PoolKernels.PlaneScratch(inPlane, outPlane, 0);
                s.acc = new double[Math.toIntExact(inPlane)];
                return s;
            }
            PoolKernels.PlaneScratch s = new PoolKernels.PlaneScratch(inPlane, outPlane, Math.toIntExact(inPlane));
            s.row = new float[2 * outW];
            s.lanes = new int[2];
            return s;
        }

        void forward(MemorySegment x, long xAt, MemorySegment y, long yAt, PoolKernels.PlaneScratch s) {
            float[] plane = s.split;
            MemorySegment.copy(x, F, xAt * Float.BYTES, plane, 0, inH * inW);
            int[] cached = s.lanes;            // which source row each half of s.row holds (-1: none)
            cached[0] = -1;
            cached[1] = -1;
            for (int oh = 0; oh < outH; oh++) {
                long yRow = yAt + (long) oh * outW;
                if (oh > 0 && h.i0()[oh] == h.i0()[oh - 1] && h.i1()[oh] == h.i1()[oh - 1] && hw0[oh] == hw0[oh - 1]
                        && hw1[oh] == hw1[oh - 1]) {
                    // The same source rows and weights as the row above (every other row of a 2x upsample).
                    MemorySegment.copy(y, (yRow - outW) * Float.BYTES, y, yRow * Float.BYTES, (long) outW * Float.BYTES);
                    continue;
                }
                if (nearest) {
                    lerpRow(plane, h.i0()[oh] * inW, y, yRow);
                    continue;
                }
                int src1 = h.i1()[oh], holding1 = cached[0] == src1 ? 0 : cached[1] == src1 ? 1 : -1;
                int r0 = interpolated(plane, h.i0()[oh], holding1, s);
                int r1 = interpolated(plane, src1, r0, s);
                blendRows(s.row, r0 * outW, r1 * outW, hw0[oh], hw1[oh], y, yRow);
            }
        }

        /**
         * The half of {@code s.row} holding source row {@code src} interpolated along W, computing it into the
         * other half than {@code keep} (-1: either) if it is not there yet.
         */
        private int interpolated(float[] plane, int src, int keep, PoolKernels.PlaneScratch s) {
            int[] cached = s.lanes;
            if (cached[0] == src) return 0;
            if (cached[1] == src) return 1;
            int slot = keep == 0 ? 1 : 0;
            lerpRowInto(plane, src * inW, s.row, slot * outW);
            cached[slot] = src;
            return slot;
        }

        /** {@code out[ow] = ww0 * row[i0] + ww1 * row[i1]} for the source row at {@code rowAt} of the plane. */
        private void lerpRowInto(float[] plane, int rowAt, float[] out, int outAt) {
            int[] i0 = w.i0(), i1 = w.i1();
            int ow = 0;
            if (simd) {
                for (int step = S.length(); ow <= outW - step; ow += step) {
                    FloatVector a = FloatVector.fromArray(S, plane, rowAt, i0, ow);
                    FloatVector b = FloatVector.fromArray(S, plane, rowAt, i1, ow);
                    b.fma(FloatVector.fromArray(S, ww1, ow), a.mul(FloatVector.fromArray(S, ww0, ow)))
                            .intoArray(out, outAt + ow);
                }
            }
            for (; ow < outW; ow++) out[outAt + ow] = Math.fma(plane[rowAt + i1[ow]], ww1[ow], plane[rowAt + i0[ow]] * ww0[ow]);
        }

        /** Nearest: {@code y[ow] = row[i0[ow]]}, a gather. */
        private void lerpRow(float[] plane, int rowAt, MemorySegment y, long yRow) {
            int[] i0 = w.i0();
            int ow = 0;
            if (simd) {
                for (int step = S.length(); ow <= outW - step; ow += step)
                    FloatVector.fromArray(S, plane, rowAt, i0, ow).intoMemorySegment(y, (yRow + ow) * Float.BYTES, NATIVE);
            }
            for (; ow < outW; ow++) y.setAtIndex(F, yRow + ow, plane[rowAt + i0[ow]]);
        }

        /** {@code y = a0 * rows[r0..] + a1 * rows[r1..]}. */
        private void blendRows(float[] rows, int r0, int r1, float a0, float a1, MemorySegment y, long yRow) {
            int ow = 0;
            if (simd) {
                FloatVector va0 = FloatVector.broadcast(S, a0), va1 = FloatVector.broadcast(S, a1);
                for (int step = S.length(); ow <= outW - step; ow += step)
                    FloatVector.fromArray(S, rows, r1 + ow).fma(va1, FloatVector.fromArray(S, rows, r0 + ow).mul(va0))
                            .intoMemorySegment(y, (yRow + ow) * Float.BYTES, NATIVE);
            }
            for (; ow < outW; ow++) y.setAtIndex(F, yRow + ow, Math.fma(rows[r1 + ow], a1, rows[r0 + ow] * a0));
        }

        /** The reference's scatter, in double and in its order. */
        void backward(MemorySegment dy, long dyAt, MemorySegment dx, long dxAt, PoolKernels.PlaneScratch s) {
            double[] acc = s.acc;
            Arrays.fill(acc, 0);
            int[] hi0 = h.i0(), hi1 = h.i1(), wi0 = w.i0(), wi1 = w.i1();
            double[] hw0d = h.w0(), hw1d = h.w1(), ww0d = w.w0(), ww1d = w.w1();
            long ob = dyAt;
            for (int oh = 0; oh < outH; oh++) {
                int r0 = hi0[oh] * inW, r1 = hi1[oh] * inW;
                if (nearest) {
                    for (int ow = 0; ow < outW; ow++) acc[r0 + wi0[ow]] += dy.getAtIndex(F, ob++);
                    continue;
                }
                double a0 = hw0d[oh], a1 = hw1d[oh];
                for (int ow = 0; ow < outW; ow++) {
                    double g = dy.getAtIndex(F, ob++);
                    int j0 = wi0[ow], j1 = wi1[ow];
                    double b0 = ww0d[ow], b1 = ww1d[ow];
                    acc[r0 + j0] += a0 * b0 * g;
                    acc[r0 + j1] += a0 * b1 * g;
                    acc[r1 + j0] += a1 * b0 * g;
                    acc[r1 + j1] += a1 * b1 * g;
                }
            }
            for (int i = 0; i < acc.length; i++) dx.setAtIndex(F, dxAt + i, (float) acc[i]);
        }
    }
}
