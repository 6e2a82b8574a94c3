package dev.stride.engine.cpu;

import dev.stride.engine.ResampleTaps;
import dev.stride.graph.Shape;
import dev.stride.graph.op.Resize2d;
import dev.stride.graph.op.Resize2dBackward;
import jdk.incubator.vector.FloatVector;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static dev.stride.engine.cpu.OnnxOpKernels.F;
import static dev.stride.engine.cpu.OnnxOpKernels.L;
import static dev.stride.engine.cpu.OnnxOpKernels.S;
import static dev.stride.engine.cpu.OnnxOpKernels.cost;
import static dev.stride.engine.cpu.OnnxOpKernels.NATIVE;

/**
 * ONNX Resize of NCHW and its gradient. The source cells and weights of every output row and column come from
 * {@link Resize2d#sourceCoordinate} and {@link Resize2d#nearestIndex}, exactly as the reference builds them, so
 * nearest picks the same cells bit for bit and linear uses the same weights rounded to float.
 *
 * <p>Forward: work items are output rows (of all planes). Nearest copies (a whole previous output row when two
 * rows read the same input row). Linear is separable: an input row is interpolated along W once into a row cache
 * (two slots per worker, enough since the rows an output row reads never go backwards), then each output row is
 * a vector blend of two cached rows, grouped as the reference's {@code a0 (b0 x00 + b1 x01) + a1 (b0 x10 + b1 x11)}.
 *
 * <p>Backward: work items are dx rows. Row i first sums, by vector multiply-adds, the dy rows that read it with
 * their weights (a list per input row, built once), then folds that row along W with a list per input column.
 */
final class OnnxResize {
    private OnnxResize() {}

    static void register(CpuKernelRegistry r, boolean simd) {
        r.register(Resize2d.class, (op, node) -> {
            Shape x = node.inShape(0);
            Axis hAxis = Axis.of(op.mode(), op.coord(), op.nearest(), x.dim(2), op.outH(), op.scaleH());
            Axis wAxis = Axis.of(op.mode(), op.coord(), op.nearest(), x.dim(3), op.outW(), op.scaleW());
            return forward(node, hAxis, wAxis, op.mode() == Resize2d.Mode.NEAREST, simd);
        });
        r.register(Resize2dBackward.class, (op, node) -> {
            Shape dy = node.inShape(0);
            Axis hAxis = Axis.of(op.mode(), op.coord(), op.nearest(), op.inH(), dy.dim(2), op.scaleH());
            Axis wAxis = Axis.of(op.mode(), op.coord(), op.nearest(), op.inW(), dy.dim(3), op.scaleW());
            return backward(node, hAxis, wAxis, op.inH(), op.inW(), simd);
        });
    }

    /** Per output index along one axis: the two source cells and their weights (nearest: one cell, weight 1). */
    record Axis(int in, int[] i0, int[] i1, float[] w0, float[] w1) {
        static Axis of(Resize2d.Mode mode, Resize2d.Coord coord, Resize2d.Nearest nearest, int in, int out, double scale) {
            ResampleTaps t = ResampleTaps.resize(mode, coord, nearest, in, out, scale);
            return new Axis(in, t.i0(), t.i1(), t.w0f(), t.w1f());
        }

        int out() { return i0.length; }

        /** Per source index: the (output index, weight) pairs that read it, output ascending, zero weights left out. */
        int[][] readers(float[][] weights) {
            List<List<Integer>> idx = new ArrayList<>();
            List<List<Float>> wt = new ArrayList<>();
            for (int i = 0; i < in; i++) {
                idx.add(new ArrayList<>());
                wt.add(new ArrayList<>());
            }
            for (int o = 0; o < out(); o++) {
                if (w0[o] != 0) { idx.get(i0[o]).add(o); wt.get(i0[o]).add(w0[o]); }
                if (w1[o] != 0) { idx.get(i1[o]).add(o); wt.get(i1[o]).add(w1[o]); }
            }
            int[][] r = new int[in][];
            for (int i = 0; i < in; i++) {
                r[i] = idx.get(i).stream().mapToInt(Integer::intValue).toArray();
                weights[i] = new float[r[i].length];
                for (int k = 0; k < r[i].length; k++) weights[i][k] = wt.get(i).get(k);
            }
            return r;
        }
    }

    private static CpuKernel forward(CpuNode node, Axis hA, Axis wA, boolean nearest, boolean simd) {
        Shape xs = node.inShape(0);
        MemorySegment x = node.in(0), y = node.out(0);
        int inH = xs.dim(2), inW = xs.dim(3), outH = hA.out(), outW = wA.out();
        int rows = Math.multiplyExact(Math.multiplyExact(xs.dim(0), xs.dim(1)), outH);
        int[] hi0 = hA.i0, hi1 = hA.i1, wi0 = wA.i0, wi1 = wA.i1;
        float[] ha0 = hA.w0, ha1 = hA.w1, wb0 = wA.w0, wb1 = wA.w1;
        boolean identityW = outW == inW;
        for (int j = 0; j < outW && identityW; j++) identityW = wi0[j] == j;
        boolean copyRows = identityW;
        CpuRuntime rt = node.runtime();
        long inPlane = (long) inH * inW;
        if (nearest) {
            CpuRuntime.RangeTask task = (w, from, to) -> {
                for (int row = from; row < to; row++) {
                    int pl = row / outH, oh = row % outH;
                    long dst = (long) row * outW;
                    if (row > from && oh > 0 && hi0[oh] == hi0[oh - 1]) {   // same input row as the row before
                        OnnxLayoutKernels.copyRow(y, dst - outW, y, dst, outW);
                        continue;
                    }
                    long src = pl * inPlane + (long) hi0[oh] * inW;
                    if (copyRows) OnnxLayoutKernels.copyRow(x, src, y, dst, outW);
                    else for (int j = 0; j < outW; j++) y.setAtIndex(F, dst + j, x.getAtIndex(F, src + wi0[j]));
                }
            };
            long work = cost(2L * rows * outW);
            return ctx -> rt.parallelFor(rows, work, task);
        }
        int threads = rt.threads();
        float[][][] cache = new float[threads][2][outW];
        long[][] keys = new long[threads][2];
        CpuRuntime.RangeTask task = (w, from, to) -> {
            float[][] slot = cache[w];
            long[] key = keys[w];
            key[0] = key[1] = -1;                   // a new run: the input changed
            for (int row = from; row < to; row++) {
                int pl = row / outH, oh = row % outH;
                long k0 = (long) pl * inH + hi0[oh], k1 = (long) pl * inH + hi1[oh];
                float[] r0 = horizontal(x, k0, k1, slot, key, inW, outW, wi0, wi1, wb0, wb1);
                float[] r1 = horizontal(x, k1, k0, slot, key, inW, outW, wi0, wi1, wb0, wb1);
                float a0 = ha0[oh], a1 = ha1[oh];
                long dst = (long) row * outW;
                int j = 0;
                if (simd) {
                    for (; j <= outW - L; j += L)
                        (FloatVector.fromArray(S, r1, j).fma(FloatVector.broadcast(S, a1), FloatVector.fromArray(S, r0, j).mul(a0))).intoMemorySegment(y, (dst + j) * 4L, NATIVE);
                }
                for (; j < outW; j++) y.setAtIndex(F, dst + j, Math.fma(r1[j], a1, r0[j] * a0));
            }
        };
        long work = cost(8L * rows * outW);
        return ctx -> rt.parallelFor(rows, work, task);
    }

    /**
     * The input row {@code key} (plane * inH + row) interpolated along W, from the worker's two-slot cache, computed
     * into the slot not holding {@code keep} (the other row this output row needs) when missing.
     */
    private static float[] horizontal(MemorySegment x, long key, long keep, float[][] slot, long[] keys, int inW,
                                      int outW, int[] wi0, int[] wi1, float[] wb0, float[] wb1) {
        if (keys[0] == key) return slot[0];
        if (keys[1] == key) return slot[1];
        int s = keys[0] == keep ? 1 : 0;
        float[] r = slot[s];
        long src = key * inW;
        for (int j = 0; j < outW; j++)
            r[j] = Math.fma(wb1[j], x.getAtIndex(F, src + wi1[j]), wb0[j] * x.getAtIndex(F, src + wi0[j]));
        keys[s] = key;
        return r;
    }

    private static CpuKernel backward(CpuNode node, Axis hA, Axis wA, int inH, int inW, boolean simd) {
        Shape dys = node.inShape(0);
        MemorySegment dy = node.in(0), dx = node.out(0);
        int outH = hA.out(), outW = wA.out();
        int rows = Math.multiplyExact(Math.multiplyExact(dys.dim(0), dys.dim(1)), inH);
        float[][] hw = new float[inH][], ww = new float[inW][];
        int[][] hr = hA.readers(hw), wr = wA.readers(ww);
        CpuRuntime rt = node.runtime();
        float[][] rowsOf = new float[rt.threads()][outW];
        long outPlane = (long) outH * outW;
        CpuRuntime.RangeTask task = (w, from, to) -> {
            float[] t = rowsOf[w];
            for (int row = from; row < to; row++) {
                int pl = row / inH, i = row % inH;
                long dst = (long) row * inW;
                int[] readers = hr[i];
                if (readers.length == 0) {
                    OnnxLayoutKernels.zeroRow(dx, dst, inW, simd);
                    continue;
                }
                for (int k = 0; k < readers.length; k++) {
                    long src = pl * outPlane + (long) readers[k] * outW;
                    float a = hw[i][k];
                    int j = 0;
                    if (simd) {
                        for (; j <= outW - L; j += L) {
                            FloatVector g = FloatVector.fromMemorySegment(S, dy, (src + j) * 4L, NATIVE).mul(a);
                            (k == 0 ? g : g.add(FloatVector.fromArray(S, t, j))).intoArray(t, j);
                        }
                    }
                    for (; j < outW; j++) t[j] = k == 0 ? dy.getAtIndex(F, src + j) * a : t[j] + dy.getAtIndex(F, src + j) * a;
                }
                for (int j = 0; j < inW; j++) {
                    int[] cols = wr[j];
                    float[] cw = ww[j];
                    float s = 0;
                    for (int k = 0; k < cols.length; k++) s = Math.fma(cw[k], t[cols[k]], s);
                    dx.setAtIndex(F, dst + j, s);
                }
            }
        };
        long work = cost(6L * dys.size() + (long) rows * inW);
        return ctx -> rt.parallelFor(rows, work, task);
    }
}
