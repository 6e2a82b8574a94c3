package dev.stride.engine.cuda;

import dev.stride.graph.Shape;
import dev.stride.graph.op.Concat;
import dev.stride.graph.op.Gather;
import dev.stride.graph.op.GatherBackward;
import dev.stride.graph.op.Pad;
import dev.stride.graph.op.PadBackward;
import dev.stride.graph.op.Slice;
import dev.stride.graph.op.Transpose;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The layout family's cuda kernels (kernels/layout.cu): Transpose, Slice, Concat, Pad (every mode), PadBackward,
 * Gather and GatherBackward. The index tables are built here once per node and uploaded; the gradients that add
 * several cells (PadBackward of a copying mode, GatherBackward with repeated indices) get, per output cell, the
 * list of cells that feed it, so each output is one thread's sum in the reference's order: no atomics, the
 * reference's bits.
 *
 * <p>Each factory prepares its launches once; the kernel only runs them. The C signature of each kernel is repeated
 * above its launch: the argument kinds must match it.
 */
final class CudaLayoutKernels {
    private CudaLayoutKernels() {}

    static final String SOURCE = "layout.cu";

    /** The LAYOUT_* codes of layout.cu. */
    static int padCode(Pad.Mode mode) {
        return switch (mode) {
            case CONSTANT -> 0;
            case REFLECT -> 1;
            case EDGE -> 2;
            case WRAP -> 3;
        };
    }

    static void register(CudaKernelRegistry r) {
        r.source(SOURCE);
        r.register(Transpose.class, (op, node) -> {
            long[] xs = node.inShape(0).strides(), s = new long[xs.length];
            for (int i = 0; i < s.length; i++) s[i] = xs[op.perm()[i]];   // output axis i walks input axis perm[i]
            return stridedCopy(node, 0, s);
        });
        r.register(Slice.class, (op, node) -> {
            long[] xs = node.inShape(0).strides();
            long base = 0;
            for (int i = 0; i < xs.length; i++) base += op.starts()[i] * xs[i];
            return stridedCopy(node, base, xs);
        });
        r.register(Concat.class, (op, node) -> {
            // Row-major: the output is `outer` rows of every input's slab, input after input.
            Shape y = node.outShape(0);
            long inner = 1, outer = 1;
            for (int i = op.axis() + 1; i < y.rank(); i++) inner *= y.dim(i);
            for (int i = 0; i < op.axis(); i++) outer *= y.dim(i);
            long outSlab = y.dim(op.axis()) * inner, at = 0;
            List<Launch> parts = new ArrayList<>();
            for (int k = 0; k < node.inputs(); k++) {
                long slab = node.inShape(k).dim(op.axis()) * inner, n = outer * slab;
                // stride_concat_part(const float* x, float* y, long long n, long long slab, long long out_slab,
                //                    long long at)
                if (n > 0) parts.add(node.launch("stride_concat_part", n, Arg.ptr(node.in(k)), Arg.ptr(node.out(0)),
                        Arg.i64(n), Arg.i64(slab), Arg.i64(outSlab), Arg.i64(at)));
                at += slab;
            }
            Launch[] ls = parts.toArray(Launch[]::new);
            return ctx -> { for (Launch l : ls) l.run(); };
        });
        r.register(Pad.class, (op, node) -> {
            Shape x = node.inShape(0), y = node.outShape(0);
            int rank = x.rank();
            long[] table = new long[4 * rank];
            long[] xs = x.strides();
            for (int d = 0; d < rank; d++) {
                table[d] = y.dim(d);
                table[rank + d] = x.dim(d);
                table[2 * rank + d] = op.before()[d];
                table[3 * rank + d] = xs[d];
            }
            // stride_pad(const float* x, float* y, long long n, int rank, const long long* layout, int mode,
            //            double value)
            Launch l = node.launch("stride_pad", y.size(), Arg.ptr(node.in(0)), Arg.ptr(node.out(0)), Arg.i64(y.size()),
                    Arg.i32(rank), Arg.ptr(node.upload(table)), Arg.i32(padCode(op.mode())), Arg.f64(op.value()));
            return ctx -> l.run();
        });
        r.register(PadBackward.class, (op, node) -> {
            Shape dy = node.inShape(0), x = node.outShape(0);
            long[] table = padSources(x, dy, op.before(), op.mode());
            // stride_pad_backward(const float* dy, float* dx, long long n, int rank, const long long* t)
            Launch l = node.launch("stride_pad_backward", x.size(), Arg.ptr(node.in(0)), Arg.ptr(node.out(0)),
                    Arg.i64(x.size()), Arg.i32(x.rank()), Arg.ptr(node.upload(table)));
            return ctx -> l.run();
        });
        r.register(Gather.class, (op, node) -> {
            GatherLayout g = GatherLayout.of(node.inShape(0), op.axis(), op.indices());
            long n = node.outShape(0).size();
            // stride_gather(const float* x, float* y, long long n, long long m, long long axis, long long inner,
            //               const long long* index)
            Launch l = node.launch("stride_gather", n, Arg.ptr(node.in(0)), Arg.ptr(node.out(0)), Arg.i64(n),
                    Arg.i64(g.index.length), Arg.i64(g.n), Arg.i64(g.inner), Arg.ptr(node.upload(g.index)));
            return ctx -> l.run();
        });
        r.register(GatherBackward.class, (op, node) -> {
            GatherLayout g = GatherLayout.of(node.outShape(0), op.axis(), op.indices());
            long n = node.outShape(0).size();
            // stride_gather_backward(const float* dy, float* dx, long long n, long long m, long long axis,
            //                        long long inner, const long long* list)
            Launch l = node.launch("stride_gather_backward", n, Arg.ptr(node.in(0)), Arg.ptr(node.out(0)), Arg.i64(n),
                    Arg.i64(g.index.length), Arg.i64(g.n), Arg.i64(g.inner), Arg.ptr(node.upload(g.positionsByIndex())));
            return ctx -> l.run();
        });
    }

    /** y[i] = x[base + offset of output index i under {@code strides}] (one stride per output dimension). */
    private static CudaKernel stridedCopy(CudaNode node, long base, long[] strides) {
        Shape y = node.outShape(0);
        IndexLayout at = IndexLayout.strided(y, strides);   // size-1 dimensions dropped, contiguous ones merged
        // stride_strided_copy(const float* x, float* y, long long n, long long base, int rank, const long long* layout)
        Launch l = node.launch("stride_strided_copy", y.size(), Arg.ptr(node.in(0)), Arg.ptr(node.out(0)),
                Arg.i64(y.size()), Arg.i64(base), Arg.i32(at.rank()), Arg.ptr(node.upload(at.table())));
        return ctx -> l.run();
    }

    /**
     * PadBackward's table for the unpadded shape {@code x} and the padded {@code dy}: head {@code [x dims, dy
     * strides, start of each axis's offsets]}, then per axis its offsets (x dim + 1 entries, indices into the table)
     * and the padded positions copying each x coordinate, in increasing order ({@link Pad#sourceIndex}).
     */
    static long[] padSources(Shape x, Shape dy, int[] before, Pad.Mode mode) {
        int rank = x.rank();
        if (rank > 16) throw new IllegalArgumentException("PadBackward on the cuda backend supports rank <= 16"
                + " (STRIDE_MAX_RANK), got " + x);
        long[] ys = dy.strides();
        List<Long> t = new ArrayList<>();
        for (int d = 0; d < rank; d++) t.add((long) x.dim(d));
        for (int d = 0; d < rank; d++) t.add(ys[d]);
        for (int d = 0; d < rank; d++) t.add(0L);   // filled below
        for (int d = 0; d < rank; d++) {
            int n = x.dim(d);
            List<List<Integer>> by = new ArrayList<>();
            for (int c = 0; c < n; c++) by.add(new ArrayList<>());
            for (int o = 0; o < dy.dim(d); o++) {
                int s = Pad.sourceIndex(mode, o - before[d], n);
                if (s >= 0) by.get(s).add(o);
            }
            int offsets = t.size();
            t.set(2 * rank + d, (long) offsets);
            long at = offsets + n + 1L;
            for (int c = 0; c <= n; c++) {
                t.add(at);
                if (c < n) at += by.get(c).size();
            }
            for (List<Integer> list : by) for (int o : list) t.add((long) o);
        }
        return t.stream().mapToLong(Long::longValue).toArray();
    }

    /** x viewed as [outer, n, inner] around the gather axis; the output as [outer, indices, inner]. */
    private record GatherLayout(long outer, long n, long inner, long[] index) {
        static GatherLayout of(Shape x, int axis, long[] indices) {
            int a = axis < 0 ? axis + x.rank() : axis;
            long outer = 1, inner = 1;
            for (int i = 0; i < a; i++) outer *= x.dim(i);
            for (int i = a + 1; i < x.rank(); i++) inner *= x.dim(i);
            int n = x.dim(a);
            long[] index = new long[indices.length];
            for (int j = 0; j < index.length; j++) index[j] = indices[j] < 0 ? indices[j] + n : indices[j];
            return new GatherLayout(outer, n, inner, index);
        }

        /** {@code [offsets (n + 1), positions j]}: the positions whose index is c, increasing, at offsets c..c+1. */
        long[] positionsByIndex() {
            long[] t = new long[(int) n + 1 + index.length];
            long[] count = new long[(int) n];
            for (long i : index) count[(int) i]++;
            long at = n + 1;
            for (int c = 0; c <= n; c++) {
                t[c] = at;
                if (c < n) at += count[c];
            }
            long[] next = Arrays.copyOf(t, (int) n);
            for (int j = 0; j < index.length; j++) t[(int) next[(int) index[j]]++] = j;
            return t;
        }
    }
}
