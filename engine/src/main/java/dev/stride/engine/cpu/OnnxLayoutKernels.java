package dev.stride.engine.cpu;

import dev.stride.graph.Shape;
import dev.stride.graph.op.Gather;
import dev.stride.graph.op.GatherBackward;
import dev.stride.graph.op.Pad;
import dev.stride.graph.op.PadBackward;
import dev.stride.graph.op.Transpose;
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
 * Data movement of the ONNX-import ops: Transpose (row copies, or cache-blocked tiles when the innermost axis
 * moves), Gather and its scatter-add gradient, and the gradient of reflect/edge/wrap padding ({@code PadBackward}).
 * Copies are exact; the gradients sum in float in a fixed order per output row.
 */
final class OnnxLayoutKernels {
    private OnnxLayoutKernels() {}

    /** Below this many floats a row is copied in a loop rather than by {@code MemorySegment.copy}. */
    private static final int SHORT_ROW = 16;

    /**
     * A transpose tile: TILE positions along the axis the input walks contiguously, by LTILE along the innermost
     * output axis, whose LTILE strided cache lines (8 KiB) stay in L1 while the TILE output rows are written.
     * Measured on NCHW to NHWC: 32 x 32 ran 0.7x the reference's index table, 32 x 128 1.3x (longer inner loops).
     */
    private static final int TILE = 32, LTILE = 128;

    static void register(CpuKernelRegistry r, boolean simd) {
        r.register(Transpose.class, (op, node) -> transpose(op, node));
        r.register(Gather.class, (op, node) -> gather(op, node));
        r.register(GatherBackward.class, (op, node) -> gatherBackward(op, node, simd));
        r.register(PadBackward.class, (op, node) -> padBackward(op, node, simd));
    }

    // ---- row primitives ----

    static void copyRow(MemorySegment src, long from, MemorySegment dst, long to, int len) {
        if (len >= SHORT_ROW) {
            MemorySegment.copy(src, from * Float.BYTES, dst, to * Float.BYTES, (long) len * Float.BYTES);
        } else {
            for (int j = 0; j < len; j++) dst.setAtIndex(F, to + j, src.getAtIndex(F, from + j));
        }
    }

    /** dst[to, to + len) += src[from, from + len). */
    static void addRow(MemorySegment src, long from, MemorySegment dst, long to, int len, boolean simd) {
        int j = 0;
        if (simd) for (; j <= len - L; j += L) (FloatVector.fromMemorySegment(S, dst, (to + j) * 4L, NATIVE).add(FloatVector.fromMemorySegment(S, src, (from + j) * 4L, NATIVE))).intoMemorySegment(dst, (to + j) * 4L, NATIVE);
        for (; j < len; j++) dst.setAtIndex(F, to + j, dst.getAtIndex(F, to + j) + src.getAtIndex(F, from + j));
    }

    static void zeroRow(MemorySegment dst, long to, long len, boolean simd) {
        long j = 0;
        if (simd) {
            FloatVector zero = FloatVector.zero(S);
            for (; j <= len - L; j += L) (zero).intoMemorySegment(dst, (to + j) * 4L, NATIVE);
        }
        for (; j < len; j++) dst.setAtIndex(F, to + j, 0f);
    }

    /** The row-major odometer step over {@code dims[0, k)}: returns false after the last combination. */
    static boolean next(int[] at, int[] dims, int k) {
        for (int d = k - 1; d >= 0; d--) {
            if (++at[d] < dims[d]) return true;
            at[d] = 0;
        }
        return false;
    }

    // ---- transpose ----

    /**
     * Output axis i walks input axis perm[i]. Size-1 axes are dropped and output neighbours that are input
     * neighbours merged, so NCHW to NHWC becomes [N, H*W, C] over input strides [C*H*W, 1, H*W]. When the
     * innermost output axis is the innermost input axis, rows are copied whole; otherwise each pair (axis q that
     * the input walks with stride 1, innermost output axis) is transposed in tiles, which
     * keep the strided reads within L1 for the whole tile ({@link #LTILE}).
     */
    private static CpuKernel transpose(Transpose op, CpuNode node) {
        Shape x = node.inShape(0);
        MemorySegment in = node.in(0), out = node.out(0);
        long n = x.size();
        if (n == 0) return ctx -> {};
        long[] xs = x.strides();
        List<Integer> dimList = new ArrayList<>();
        List<Long> strideList = new ArrayList<>();
        for (int i = 0; i < x.rank(); i++) {
            int d = x.dim(op.perm()[i]);
            long s = xs[op.perm()[i]];
            if (d == 1) continue;
            if (!dimList.isEmpty() && strideList.getLast() == s * d) {
                dimList.set(dimList.size() - 1, dimList.getLast() * d);
                strideList.set(strideList.size() - 1, s);
            } else {
                dimList.add(d);
                strideList.add(s);
            }
        }
        int k = dimList.size();
        int[] dims = dimList.stream().mapToInt(Integer::intValue).toArray();
        long[] strides = strideList.stream().mapToLong(Long::longValue).toArray();
        CpuRuntime rt = node.runtime();
        long work = cost(2 * n);

        if (k == 0 || strides[k - 1] == 1) {
            int len = k == 0 ? 1 : dims[k - 1], rows = Math.toIntExact(n / len);
            long[] src = new long[rows];
            int[] at = new int[Math.max(0, k - 1)];
            for (int row = 0; row < rows; row++) {
                for (int d = 0; d < k - 1; d++) src[row] += at[d] * strides[d];
                next(at, dims, k - 1);
            }
            CpuRuntime.RangeTask task = (w, from, to) -> {
                for (int row = from; row < to; row++) copyRow(in, src[row], out, (long) row * len, len);
            };
            return ctx -> rt.parallelFor(rows, work, task);
        }

        int q = 0;
        while (strides[q] != 1) q++;                  // the input's innermost axis: it exists and q < k - 1
        int last = k - 1, nq = dims[q], nl = dims[last];
        long ls = strides[last];
        long[] outStrides = new long[k];
        outStrides[last] = 1;
        for (int d = last - 1; d >= 0; d--) outStrides[d] = outStrides[d + 1] * dims[d + 1];
        long qs = outStrides[q];
        int outer = Math.toIntExact(n / ((long) nq * nl));
        // Offsets of each combination of the other axes, in input and output.
        int[] otherDims = new int[k - 2];
        long[] otherIn = new long[k - 2], otherOut = new long[k - 2];
        for (int d = 0, j = 0; d < k; d++) {
            if (d == q || d == last) continue;
            otherDims[j] = dims[d];
            otherIn[j] = strides[d];
            otherOut[j++] = outStrides[d];
        }
        long[] inBase = new long[outer], outBase = new long[outer];
        int[] at = new int[k - 2];
        for (int o = 0; o < outer; o++) {
            for (int d = 0; d < k - 2; d++) {
                inBase[o] += at[d] * otherIn[d];
                outBase[o] += at[d] * otherOut[d];
            }
            next(at, otherDims, k - 2);
        }
        int qTiles = (nq + TILE - 1) / TILE;
        CpuRuntime.RangeTask task = (w, from, to) -> {
            for (int item = from; item < to; item++) {
                int o = item / qTiles, q0 = item % qTiles * TILE, q1 = Math.min(nq, q0 + TILE);
                long ib = inBase[o], ob = outBase[o];
                for (int l0 = 0; l0 < nl; l0 += LTILE) {
                    int l1 = Math.min(nl, l0 + LTILE);
                    for (int iq = q0; iq < q1; iq++) {
                        long src = (ib + iq + l0 * ls) * Float.BYTES, dst = (ob + iq * qs + l0) * Float.BYTES;
                        long end = (ob + iq * qs + l1) * Float.BYTES, step = ls * Float.BYTES;
                        for (; dst < end; dst += Float.BYTES, src += step) out.set(F, dst, in.get(F, src));
                    }
                }
            }
        };
        int items = outer * qTiles;
        return ctx -> rt.parallelFor(items, work, task);
    }

    // ---- gather ----

    /** x viewed as [outer, n, inner] around the gather axis, and the indices made non-negative. */
    private record GatherLayout(int outer, int n, int inner, int[] index) {
        static GatherLayout of(Shape x, int axis, long[] indices) {
            int a = axis < 0 ? axis + x.rank() : axis, outer = 1, inner = 1;
            for (int i = 0; i < a; i++) outer *= x.dim(i);
            for (int i = a + 1; i < x.rank(); i++) inner *= x.dim(i);
            int n = x.dim(a);
            int[] index = new int[indices.length];
            for (int j = 0; j < index.length; j++) index[j] = (int) (indices[j] < 0 ? indices[j] + n : indices[j]);
            return new GatherLayout(outer, n, inner, index);
        }
    }

    /** Output row (o, j) is input row (o, index[j]): one copy of {@code inner} floats each. */
    private static CpuKernel gather(Gather op, CpuNode node) {
        GatherLayout l = GatherLayout.of(node.inShape(0), op.axis(), op.indices());
        MemorySegment in = node.in(0), out = node.out(0);
        int m = l.index.length, inner = l.inner, n = l.n;
        int[] index = l.index;
        int rows = Math.multiplyExact(l.outer, m);
        if (rows == 0 || inner == 0) return ctx -> {};
        CpuRuntime rt = node.runtime();
        CpuRuntime.RangeTask task = (w, from, to) -> {
            for (int row = from; row < to; row++) {
                int o = row / m, j = row % m;
                copyRow(in, ((long) o * n + index[j]) * inner, out, (long) row * inner, inner);
            }
        };
        long work = cost(2L * rows * inner);
        return ctx -> rt.parallelFor(rows, work, task);
    }

    /**
     * Scatter-add as a gather: dx row (o, i) is the sum of the dy rows (o, j) whose index is i, in increasing j
     * (a list per i, built once), and zero when no index is i. Each dx row is one item: no two threads add into
     * the same row, and the order of the sum never depends on the split.
     */
    private static CpuKernel gatherBackward(GatherBackward op, CpuNode node, boolean simd) {
        GatherLayout l = GatherLayout.of(node.outShape(0), op.axis(), op.indices());
        MemorySegment dy = node.in(0), dx = node.out(0);
        int m = l.index.length, inner = l.inner, n = l.n;
        int[] start = new int[n + 1], js = new int[m];
        for (int i : l.index) start[i + 1]++;
        for (int i = 0; i < n; i++) start[i + 1] += start[i];
        int[] fill = start.clone();
        for (int j = 0; j < m; j++) js[fill[l.index[j]]++] = j;   // ascending j within each list
        int rows = Math.multiplyExact(l.outer, n);
        if (rows == 0 || inner == 0) return ctx -> {};
        CpuRuntime rt = node.runtime();
        CpuRuntime.RangeTask task = (w, from, to) -> {
            for (int row = from; row < to; row++) {
                int o = row / n, i = row % n;
                long dst = (long) row * inner;
                if (start[i] == start[i + 1]) {
                    zeroRow(dx, dst, inner, simd);
                    continue;
                }
                copyRow(dy, ((long) o * m + js[start[i]]) * inner, dx, dst, inner);
                for (int e = start[i] + 1; e < start[i + 1]; e++)
                    addRow(dy, ((long) o * m + js[e]) * inner, dx, dst, inner, simd);
            }
        };
        long work = cost((long) l.outer * (m + n) * inner);
        return ctx -> rt.parallelFor(rows, work, task);
    }

    // ---- pad backward ----

    /**
     * dx cell = sum of dy over the padded cells that copy it ({@link Pad#sourceIndex}, per axis). Padding is a
     * product of per-axis maps, so dx row (all axes but the last fixed) gathers the dy rows whose coordinate on
     * every other axis maps to the row's: a list per dx row, built once (each dy row is in at most one). Each dy
     * row is folded along the last axis: its interior added as a whole row, its padded cells added one by one to
     * their sources. One item per dx row; terms in list order, so any split gives the same bits.
     */
    private static CpuKernel padBackward(PadBackward op, CpuNode node, boolean simd) {
        Shape xs = node.outShape(0), ys = node.inShape(0);
        MemorySegment dy = node.in(0), dx = node.out(0);
        int r = xs.rank();
        if (r == 0) return ctx -> dx.setAtIndex(F, 0, dy.getAtIndex(F, 0));
        long size = xs.size();
        if (size == 0) return ctx -> {};
        int last = r - 1, width = xs.dim(last), before = op.before()[last];
        Pad.Mode mode = op.mode();

        // Per axis but the last, per source index: the padded positions that copy it, ascending.
        int[][][] sources = new int[last][][];
        for (int d = 0; d < last; d++) {
            int nx = xs.dim(d);
            List<List<Integer>> lists = new ArrayList<>();
            for (int i = 0; i < nx; i++) lists.add(new ArrayList<>());
            for (int o = 0; o < ys.dim(d); o++) {
                int s = Pad.sourceIndex(mode, o - op.before()[d], nx);
                if (s >= 0) lists.get(s).add(o);
            }
            sources[d] = lists.stream().map(li -> li.stream().mapToInt(Integer::intValue).toArray()).toArray(int[][]::new);
        }
        long[] yStrides = ys.strides();
        int rows = Math.toIntExact(size / width);
        int[] rowStart = new int[rows + 1];
        List<Long> srcList = new ArrayList<>();
        int[] xDims = new int[last];
        for (int d = 0; d < last; d++) xDims[d] = xs.dim(d);
        int[] at = new int[last];
        for (int row = 0; row < rows; row++) {
            int[] counts = new int[last], pick = new int[last];
            for (int d = 0; d < last; d++) counts[d] = sources[d][at[d]].length;
            boolean any = true;
            for (int d = 0; d < last; d++) any &= counts[d] > 0;
            while (any) {
                long off = 0;
                for (int d = 0; d < last; d++) off += sources[d][at[d]][pick[d]] * yStrides[d];
                srcList.add(off);
                any = next(pick, counts, last);
            }
            rowStart[row + 1] = srcList.size();
            next(at, xDims, last);
        }
        long[] src = srcList.stream().mapToLong(Long::longValue).toArray();
        // Along the last axis: the padded positions outside the interior, and the cells they copy.
        List<int[]> pairs = new ArrayList<>();
        for (int o = 0; o < ys.dim(last); o++) {
            if (o >= before && o < before + width) continue;
            int s = Pad.sourceIndex(mode, o - before, width);
            if (s >= 0) pairs.add(new int[] {o, s});
        }
        int[] padFrom = pairs.stream().mapToInt(p -> p[0]).toArray(), padTo = pairs.stream().mapToInt(p -> p[1]).toArray();

        CpuRuntime rt = node.runtime();
        CpuRuntime.RangeTask task = (w, from, to) -> {
            for (int row = from; row < to; row++) {
                long dst = (long) row * width;
                // Every dx cell is copied by its own interior position, so no list is empty.
                for (int e = rowStart[row]; e < rowStart[row + 1]; e++) {
                    long s = src[e];
                    if (e == rowStart[row]) copyRow(dy, s + before, dx, dst, width);
                    else addRow(dy, s + before, dx, dst, width, simd);
                    for (int p = 0; p < padFrom.length; p++)
                        dx.setAtIndex(F, dst + padTo[p], dx.getAtIndex(F, dst + padTo[p]) + dy.getAtIndex(F, s + padFrom[p]));
                }
            }
        };
        long work = cost(ys.size() + size);
        return ctx -> rt.parallelFor(rows, work, task);
    }
}
