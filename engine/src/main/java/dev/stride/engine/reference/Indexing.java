package dev.stride.engine.reference;

import dev.stride.graph.Shape;

/** Index arithmetic shared by reference kernels. */
public final class Indexing {
    private Indexing() {}

    /**
     * Strides of {@code in} laid against {@code out} for broadcasting: aligned at the right, 0 along dimensions
     * where {@code in} has size 1 or is missing.
     */
    public static long[] broadcastStrides(Shape in, Shape out) {
        long[] s = new long[out.rank()];
        long[] own = in.strides();
        int off = out.rank() - in.rank();
        for (int i = 0; i < in.rank(); i++) s[off + i] = in.dim(i) == 1 ? 0 : own[i];
        return s;
    }

    /** For every flat index of {@code out}, the flat index into a tensor with the given aligned strides. */
    public static long[] gatherIndex(Shape out, long[] strides) {
        long n = out.size();
        long[] idx = new long[Math.toIntExact(n)];
        int r = out.rank();
        int[] counter = new int[r];
        long cur = 0;
        for (int k = 0; k < n; k++) {
            idx[k] = cur;
            for (int d = r - 1; d >= 0; d--) {
                counter[d]++;
                cur += strides[d];
                if (counter[d] < out.dim(d)) break;
                cur -= strides[d] * counter[d];
                counter[d] = 0;
            }
        }
        return idx;
    }
}
