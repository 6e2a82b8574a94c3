package dev.stride.engine.cpu;

import dev.stride.graph.Shape;
import dev.stride.graph.op.Concat;
import dev.stride.graph.op.Dense;
import dev.stride.graph.op.LogSoftmax;
import dev.stride.graph.op.LogSoftmaxBackward;
import dev.stride.graph.op.MatMul;
import dev.stride.graph.op.Pad;
import dev.stride.graph.op.ReduceMean;
import dev.stride.graph.op.ReduceSum;
import dev.stride.graph.op.Reshape;
import dev.stride.graph.op.Slice;
import dev.stride.graph.op.Softmax;
import dev.stride.graph.op.SoftmaxBackward;

import java.lang.foreign.MemorySegment;

/**
 * Cpu kernels for data movement and reductions: Reshape, Pad, Slice, Concat ({@link FloatRuns}: whole contiguous
 * runs), ReduceSum, ReduceMean ({@link ReduceKernels}), MatMul, Dense ({@link GemmKernels}), Softmax/LogSoftmax
 * and backwards ({@link SoftmaxKernels}).
 *
 * <p>Pad, Slice and Concat collapse the tensor to rows: every axis after the last one the op changes is copied
 * whole, so a row is a contiguous run in both tensors, and a kernel is a table of where each row comes from.
 */
final class TensorKernels {
    private TensorKernels() {}

    /** Reshape copies in blocks of this many floats, split over the workers when large. */
    private static final int COPY_BLOCK = 1 << 16;

    static void register(CpuKernelRegistry r) { register(r, VectorConfig.SIMD); }

    /** Registers every kernel of this family on the SIMD or the scalar path (tests run both in one JVM). */
    static void register(CpuKernelRegistry r, boolean simd) {
        r.register(Reshape.class, (op, node) -> {
            // Input and output are separate buffers here (the memory planner never aliases them): copy.
            MemorySegment in = node.in(0), out = node.out(0);
            long n = node.outShape(0).size();
            int blocks = (int) Math.ceilDiv(n, COPY_BLOCK);
            CpuRuntime rt = node.runtime();
            long cost = StreamingCost.of(2 * n);
            return ctx -> rt.parallelFor(blocks, cost, (w, from, to) -> {
                long start = (long) from * COPY_BLOCK, end = Math.min(n, (long) to * COPY_BLOCK);
                FloatRuns.copy(in, start, out, start, end - start);
            });
        });
        r.register(Slice.class, (op, node) -> slice(op, node));
        r.register(Pad.class, (op, node) -> pad(op, node, simd));
        r.register(Concat.class, (op, node) -> concat(op, node));
        r.register(ReduceSum.class, (op, node) -> ReduceKernels.create(node, op.axes(), false, simd));
        r.register(ReduceMean.class, (op, node) -> ReduceKernels.create(node, op.axes(), true, simd));
        r.register(MatMul.class, (op, node) -> GemmKernels.matMul(op, node));
        r.register(Dense.class, (op, node) -> GemmKernels.dense(node, simd));
        r.register(Softmax.class, (op, node) -> SoftmaxKernels.forward(node, op.axis(), false, simd));
        r.register(LogSoftmax.class, (op, node) -> SoftmaxKernels.forward(node, op.axis(), true, simd));
        r.register(SoftmaxBackward.class, (op, node) -> SoftmaxKernels.backward(node, op.axis(), false, simd));
        r.register(LogSoftmaxBackward.class, (op, node) -> SoftmaxKernels.backward(node, op.axis(), true, simd));
    }

    /** Product of {@code s}'s dimensions in {@code [from, to)}. */
    static long product(Shape s, int from, int to) {
        long p = 1;
        for (int i = from; i < to; i++) p *= s.dim(i);
        return p;
    }

    /**
     * For every combination of indices over axes {@code [0, k)} of {@code shape}, row-major: the sum of
     * {@code (index[a] + shift[a]) * stride[a]}, or -1 where {@code inside} is given and an index falls outside
     * {@code [shift'[a], shift'[a] + inside[a])} (see {@link #pad}).
     */
    private static long[] rowOffsets(Shape shape, int k, int[] shift, long[] strides, int[] lo, int[] extent) {
        int rows = Math.toIntExact(product(shape, 0, k));
        long[] t = new long[rows];
        int[] idx = new int[k];
        for (int r = 0; r < rows; r++) {
            long off = 0;
            for (int a = 0; a < k; a++) {
                if (lo != null && (idx[a] < lo[a] || idx[a] >= lo[a] + extent[a])) { off = -1; break; }
                off += (long) (idx[a] + shift[a]) * strides[a];
            }
            t[r] = off;
            for (int a = k - 1; a >= 0; a--) {     // odometer: next row-major index
                if (++idx[a] < shape.dim(a)) break;
                idx[a] = 0;
            }
        }
        return t;
    }

    /** Slice: output row r (axes up to the last sliced one) is a run of the input starting at {@code src[r]}. */
    private static CpuKernel slice(Slice op, CpuNode node) {
        Shape x = node.inShape(0), y = node.outShape(0);
        int k = x.rank() - 1;
        while (k >= 0 && op.starts()[k] == 0 && op.ends()[k] == x.dim(k)) k--;
        MemorySegment in = node.in(0), out = node.out(0);
        if (k < 0) return ctx -> FloatRuns.copy(in, 0, out, 0, y.size());
        long inner = product(x, k + 1, x.rank()), run = (long) (op.ends()[k] - op.starts()[k]) * inner;
        if (run == 0 || y.size() == 0) return ctx -> { };
        long[] src = rowOffsets(y, k, op.starts(), x.strides(), null, null);
        long first = op.starts()[k] * inner;
        CpuRuntime rt = node.runtime();
        return ctx -> rt.parallelFor(src.length, StreamingCost.of(2 * y.size()), (w, from, to) -> {
            for (int r = from; r < to; r++) FloatRuns.copy(in, src[r] + first, out, r * run, run);
        });
    }

    /**
     * Pad: output row r is the value where an outer index falls in the padding ({@code src[r] = -1}), else
     * {@code before} fill, the input run, {@code after} fill along the last padded axis.
     */
    private static CpuKernel pad(Pad op, CpuNode node, boolean simd) {
        Shape x = node.inShape(0), y = node.outShape(0);
        int k = x.rank() - 1;
        while (k >= 0 && op.before()[k] == 0 && op.after()[k] == 0) k--;
        MemorySegment in = node.in(0), out = node.out(0);
        if (k < 0) return ctx -> FloatRuns.copy(in, 0, out, 0, y.size());
        if (y.size() == 0) return ctx -> { };
        if (op.mode() != Pad.Mode.CONSTANT) return padBySource(op, node);
        float v = (float) op.value();
        long inner = product(x, k + 1, x.rank()), rowLen = y.dim(k) * inner;
        long head = op.before()[k] * inner, body = x.dim(k) * inner, tail = op.after()[k] * inner;
        int[] shift = new int[k];
        for (int a = 0; a < k; a++) shift[a] = -op.before()[a];
        long[] src = rowOffsets(y, k, shift, x.strides(), op.before(), x.dims());
        CpuRuntime rt = node.runtime();
        return ctx -> rt.parallelFor(src.length, StreamingCost.of(2 * y.size()), (w, from, to) -> {
            for (int r = from; r < to; r++) {
                long at = r * rowLen;
                if (src[r] < 0) {
                    FloatRuns.fill(out, at, rowLen, v, simd);
                } else {
                    FloatRuns.fill(out, at, head, v, simd);
                    FloatRuns.copy(in, src[r], out, at + head, body);
                    FloatRuns.fill(out, at + head + body, tail, v, simd);
                }
            }
        });
    }

    /**
     * Reflect, edge and wrap padding: every output cell copies one input cell ({@link Pad#sourceIndex} per axis),
     * from per-axis index maps and a table of row offsets built here, once.
     */
    private static final java.lang.foreign.ValueLayout.OfFloat FLOAT = java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;

    private static CpuKernel padBySource(Pad op, CpuNode node) {
        Shape x = node.inShape(0), y = node.outShape(0);
        int rank = y.rank();
        long[] strides = x.strides();
        int[][] map = new int[rank][];
        for (int a = 0; a < rank; a++) {
            map[a] = new int[y.dim(a)];
            for (int i = 0; i < y.dim(a); i++) map[a][i] = Pad.sourceIndex(op.mode(), i - op.before()[a], x.dim(a));
        }
        int rows = Math.toIntExact(product(y, 0, rank - 1)), last = y.dim(rank - 1);
        long[] rowStart = new long[rows];
        int[] idx = new int[rank - 1];
        for (int r = 0; r < rows; r++) {
            long off = 0;
            for (int a = 0; a < rank - 1; a++) off += map[a][idx[a]] * strides[a];
            rowStart[r] = off;
            for (int a = rank - 2; a >= 0 && ++idx[a] == y.dim(a); a--) idx[a] = 0;
        }
        int[] cols = map[rank - 1];
        MemorySegment in = node.in(0), out = node.out(0);
        CpuRuntime rt = node.runtime();
        return ctx -> rt.parallelFor(rows, StreamingCost.of(2 * y.size()), (w, from, to) -> {
            for (int r = from; r < to; r++) {
                long at = (long) r * last, src = rowStart[r];
                for (int j = 0; j < last; j++) out.setAtIndex(FLOAT, at + j, in.getAtIndex(FLOAT, src + cols[j]));
            }
        });
    }

    /** Concat: each outer index holds every input's slab in turn. */
    private static CpuKernel concat(Concat op, CpuNode node) {
        Shape y = node.outShape(0);
        int axis = op.axis(), n = node.inputs();
        long inner = product(y, axis + 1, y.rank()), outSlab = y.dim(axis) * inner;
        int outer = Math.toIntExact(product(y, 0, axis));
        long[] slab = new long[n], at = new long[n];
        MemorySegment[] in = new MemorySegment[n];
        long offset = 0;
        for (int k = 0; k < n; k++) {
            slab[k] = node.inShape(k).dim(axis) * inner;
            at[k] = offset;
            offset += slab[k];
            in[k] = node.in(k);
        }
        MemorySegment out = node.out(0);
        CpuRuntime rt = node.runtime();
        return ctx -> rt.parallelFor(outer, StreamingCost.of(2 * y.size()), (w, from, to) -> {
            for (int o = from; o < to; o++)
                for (int k = 0; k < n; k++) FloatRuns.copy(in[k], o * slab[k], out, o * outSlab + at[k], slab[k]);
        });
    }
}
