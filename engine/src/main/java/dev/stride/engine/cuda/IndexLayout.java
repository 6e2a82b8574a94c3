package dev.stride.engine.cuda;

import dev.stride.engine.reference.Indexing;
import dev.stride.graph.Shape;

import java.util.ArrayList;
import java.util.List;

/**
 * Index layouts for kernels that walk an output row-major and read operands through strides (common.cuh's
 * {@code stride_offset}): the output's dimensions and each operand's strides against them, with dimensions of size
 * 1 dropped and adjacent dimensions merged wherever every operand walks them contiguously, so the kernel does as
 * few divisions as the shapes allow (a same-shape binary op becomes rank 1, no division at all).
 *
 * @param rank  the merged rank (0 for a single element)
 * @param table {@code [dims[rank], strides of operand 0[rank], strides of operand 1[rank], ...]}, what the kernel
 *              receives as {@code const long long* layout} ({@link CudaNode#upload})
 */
record IndexLayout(int rank, long[] table) {
    /** Output {@code out} reading each operand with NumPy broadcasting (operands right-aligned, size-1 dims repeat). */
    static IndexLayout broadcast(Shape out, Shape... operands) {
        long[][] strides = new long[operands.length][];
        for (int k = 0; k < operands.length; k++) strides[k] = Indexing.broadcastStrides(operands[k], out);
        return strided(out, strides);
    }

    /** Output {@code out} reading operand k at {@code strides[k]}, one stride per output dimension. */
    static IndexLayout strided(Shape out, long[]... strides) {
        List<Long> dims = new ArrayList<>();
        List<long[]> cols = new ArrayList<>();
        for (int d = 0; d < out.rank(); d++) {
            if (out.dim(d) == 1) continue;
            long[] s = new long[strides.length];
            for (int k = 0; k < s.length; k++) s[k] = strides[k][d];
            if (!dims.isEmpty()) {
                long[] prev = cols.getLast();
                boolean merge = true;
                for (int k = 0; k < s.length; k++) merge &= prev[k] == s[k] * out.dim(d);
                if (merge) {
                    dims.set(dims.size() - 1, dims.getLast() * out.dim(d));
                    prev = s.clone();   // the merged dimension steps like its inner part
                    cols.set(cols.size() - 1, prev);
                    continue;
                }
            }
            dims.add((long) out.dim(d));
            cols.add(s);
        }
        int r = dims.size();
        long[] table = new long[r * (1 + strides.length)];
        for (int d = 0; d < r; d++) {
            table[d] = dims.get(d);
            for (int k = 0; k < strides.length; k++) table[(1 + k) * r + d] = cols.get(d)[k];
        }
        return new IndexLayout(r, table);
    }

    /**
     * The layout of SumTo from {@code from} to {@code to} (right-aligned, {@code to} broadcasts to {@code from}):
     * {@code [kept dims, their strides in from, reduced dims, their strides in from]} with {@code kept} and
     * {@code reduced} counts; adjacent dimensions of the same kind merged, size-1 dimensions dropped.
     */
    record Reduction(int kept, int reduced, long reducedSize, long[] table) {}

    static Reduction sumTo(Shape from, Shape to) {
        long[] st = from.strides();
        int off = from.rank() - to.rank();
        List<long[]> kept = new ArrayList<>(), red = new ArrayList<>();   // {dim, stride}
        Boolean lastKept = null;
        long reducedSize = 1;
        for (int d = 0; d < from.rank(); d++) {
            int n = from.dim(d);
            if (n == 1) continue;
            boolean k = d >= off && to.dim(d - off) == n;
            if (!k) reducedSize *= n;
            List<long[]> list = k ? kept : red;
            if (lastKept != null && lastKept == k) {
                long[] prev = list.getLast();   // contiguous in from: merge
                prev[0] *= n;
                prev[1] = st[d];
            } else {
                list.add(new long[] {n, st[d]});
            }
            lastKept = k;
        }
        int kr = kept.size(), rr = red.size();
        long[] table = new long[2 * kr + 2 * rr];
        for (int i = 0; i < kr; i++) {
            table[i] = kept.get(i)[0];
            table[kr + i] = kept.get(i)[1];
        }
        for (int i = 0; i < rr; i++) {
            table[2 * kr + i] = red.get(i)[0];
            table[2 * kr + rr + i] = red.get(i)[1];
        }
        return new Reduction(kr, rr, reducedSize, table);
    }
}
