package dev.stride.engine.cpu;

import dev.stride.graph.Shape;
import dev.stride.graph.op.ReduceMax;
import dev.stride.graph.op.ReduceMaxBackward;
import dev.stride.graph.op.ReduceSum;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static dev.stride.engine.cpu.OnnxOpKernels.F;
import static dev.stride.engine.cpu.OnnxOpKernels.L;
import static dev.stride.engine.cpu.OnnxOpKernels.S;
import static dev.stride.engine.cpu.OnnxOpKernels.cost;
import static dev.stride.engine.cpu.OnnxOpKernels.NATIVE;

/**
 * ReduceMax and its gradient. The input's size-1 axes are dropped and neighbouring axes that are both reduced or
 * both kept merged, which leaves two shapes of work:
 * <ul>
 *   <li>the innermost group is kept ({@code [.., R, .., I]}): each output row of I floats is the lane-wise
 *       maximum of the input rows at its reduced offsets, streamed row after row;</li>
 *   <li>the innermost group is reduced ({@code [.., I, .., R]}): each output element is the maximum of blocks
 *       of R contiguous floats, vector maxima reduced across lanes.</li>
 * </ul>
 * Maxima follow Math.max (NaN propagates, 0.0 beats -0.0 in any order), so the order of comparison does not
 * matter and the forward is exact. The gradient goes to the first maximal element in row-major order (strictly
 * greater replaces; the first NaN is maximal), as the reference's scan.
 */
final class OnnxReduceMax {
    private OnnxReduceMax() {}

    private static final VectorSpecies<Integer> INTS = S.withLanes(int.class);

    /** Floats of an output row per work item when the innermost group is kept. */
    private static final int CHUNK = 1024;

    static void register(CpuKernelRegistry r, boolean simd) {
        r.register(ReduceMax.class, (op, node) -> forward(op.axes(), node, simd));
        r.register(ReduceMaxBackward.class, (op, node) -> backward(op.axes(), node, simd));
    }

    /**
     * The merged view. {@code inner}: the size of the innermost group; {@code innerReduced}: whether it is
     * reduced; {@code base}: per output slot (a row of {@code inner} when kept, an element when reduced) its input
     * offset; {@code offsets}: the offsets of the other reduced groups' combinations, in row-major order.
     */
    private record Layout(int inner, boolean innerReduced, long[] base, long[] offsets) {
        static Layout of(Shape x, int[] axes) {
            boolean[] red = ReduceSum.reduced(x, axes);
            List<Integer> sizes = new ArrayList<>();
            List<Boolean> flags = new ArrayList<>();
            for (int i = 0; i < x.rank(); i++) {
                if (x.dim(i) == 1) continue;
                if (!flags.isEmpty() && flags.getLast() == red[i]) sizes.set(sizes.size() - 1, sizes.getLast() * x.dim(i));
                else {
                    sizes.add(x.dim(i));
                    flags.add(red[i]);
                }
            }
            if (!flags.contains(true)) return null;    // nothing reduced: a copy
            int g = sizes.size();
            long[] stride = new long[g];
            for (int i = g - 1; i >= 0; i--) stride[i] = i == g - 1 ? 1 : stride[i + 1] * sizes.get(i + 1);
            boolean innerReduced = flags.getLast();
            List<Integer> keptGroups = new ArrayList<>(), redGroups = new ArrayList<>();
            for (int i = 0; i < g - 1; i++) (flags.get(i) ? redGroups : keptGroups).add(i);
            return new Layout(sizes.getLast(), innerReduced, offsets(keptGroups, sizes, stride),
                    offsets(redGroups, sizes, stride));
        }

        /** Input offsets of every combination of {@code groups}, row-major. */
        private static long[] offsets(List<Integer> groups, List<Integer> sizes, long[] stride) {
            int k = groups.size();
            int[] dims = new int[k];
            long count = 1;
            for (int i = 0; i < k; i++) count *= dims[i] = sizes.get(groups.get(i));
            long[] off = new long[Math.toIntExact(count)];
            int[] at = new int[k];
            for (int c = 0; c < off.length; c++) {
                for (int i = 0; i < k; i++) off[c] += at[i] * stride[groups.get(i)];
                OnnxLayoutKernels.next(at, dims, k);
            }
            return off;
        }
    }

    private static CpuKernel forward(int[] axes, CpuNode node, boolean simd) {
        Shape x = node.inShape(0);
        MemorySegment in = node.in(0), out = node.out(0);
        long outSize = node.outShape(0).size();
        if (x.size() == 0) {   // an empty reduction is -infinity (ONNX); an empty output is nothing
            return ctx -> { for (long i = 0; i < outSize; i++) out.setAtIndex(F, i, Float.NEGATIVE_INFINITY); };
        }
        Layout l = Layout.of(x, axes);
        CpuRuntime rt = node.runtime();
        long work = cost(x.size() + outSize);
        if (l == null) {
            return ctx -> MemorySegment.copy(in, 0, out, 0, in.byteSize());
        }
        long[] base = l.base, off = l.offsets;
        int inner = l.inner;
        if (l.innerReduced) {
            CpuRuntime.RangeTask task = (w, from, to) -> {
                for (int o = from; o < to; o++) out.setAtIndex(F, o, slotMax(in, base[o], off, inner, simd));
            };
            return ctx -> rt.parallelFor(base.length, work, task);
        }
        int chunks = (inner + CHUNK - 1) / CHUNK;
        CpuRuntime.RangeTask task = (w, from, to) -> {
            for (int item = from; item < to; item++) {
                int o = item / chunks, j0 = item % chunks * CHUNK, len = Math.min(inner, j0 + CHUNK) - j0;
                long dst = (long) o * inner + j0, src = base[o] + j0;
                OnnxLayoutKernels.copyRow(in, src + off[0], out, dst, len);
                for (int k = 1; k < off.length; k++) {
                    long s = src + off[k];
                    int j = 0;
                    if (simd) for (; j <= len - L; j += L) (FloatVector.fromMemorySegment(S, out, (dst + j) * 4L, NATIVE).max(FloatVector.fromMemorySegment(S, in, (s + j) * 4L, NATIVE))).intoMemorySegment(out, (dst + j) * 4L, NATIVE);
                    for (; j < len; j++) out.setAtIndex(F, dst + j, Math.max(out.getAtIndex(F, dst + j), in.getAtIndex(F, s + j)));
                }
            }
        };
        return ctx -> rt.parallelFor(base.length * chunks, work, task);
    }

    /** The maximum of the blocks {@code [b + off[k], + len)}, as Math.max. */
    private static float slotMax(MemorySegment in, long b, long[] off, int len, boolean simd) {
        float m = Float.NEGATIVE_INFINITY;
        for (long o : off) {
            long s = b + o;
            int j = 0;
            if (simd && len >= L) {
                FloatVector acc = FloatVector.fromMemorySegment(S, in, (s) * 4L, NATIVE);
                for (j = L; j <= len - L; j += L) acc = acc.max(FloatVector.fromMemorySegment(S, in, (s + j) * 4L, NATIVE));
                m = Math.max(m, acc.reduceLanes(VectorOperators.MAX));
            }
            for (; j < len; j++) m = Math.max(m, in.getAtIndex(F, s + j));
        }
        return m;
    }

    private static CpuKernel backward(int[] axes, CpuNode node, boolean simd) {
        Shape x = node.inShape(0);
        MemorySegment in = node.in(0), dy = node.in(1), dx = node.out(0);
        if (x.size() == 0) return ctx -> {};
        Layout l = Layout.of(x, axes);
        CpuRuntime rt = node.runtime();
        long work = cost(3 * x.size());
        if (l == null) return ctx -> MemorySegment.copy(dy, 0, dx, 0, dx.byteSize());
        long[] base = l.base, off = l.offsets;
        int inner = l.inner;
        if (l.innerReduced) {
            CpuRuntime.RangeTask task = (w, from, to) -> {
                for (int o = from; o < to; o++) {
                    long b = base[o];
                    float m = slotMax(in, b, off, inner, simd);
                    long arg = firstEqual(in, b, off, inner, m, simd);
                    for (long k : off) OnnxLayoutKernels.zeroRow(dx, b + k, inner, simd);
                    dx.setAtIndex(F, arg, dy.getAtIndex(F, o));
                }
            };
            return ctx -> rt.parallelFor(base.length, work, task);
        }
        int chunks = (inner + CHUNK - 1) / CHUNK;
        float[][] best = new float[rt.threads()][CHUNK];
        int[][] arg = new int[rt.threads()][CHUNK];
        CpuRuntime.RangeTask task = (w, from, to) -> {
            float[] bv = best[w];
            int[] av = arg[w];
            for (int item = from; item < to; item++) {
                int o = item / chunks, j0 = item % chunks * CHUNK, len = Math.min(inner, j0 + CHUNK) - j0;
                long src = base[o] + j0;
                firstArgMax(in, src, off, len, bv, av, simd);
                for (long k : off) OnnxLayoutKernels.zeroRow(dx, src + k, len, simd);
                long g = (long) o * inner + j0;
                for (int j = 0; j < len; j++) dx.setAtIndex(F, src + off[av[j]] + j, dy.getAtIndex(F, g + j));
            }
        };
        return ctx -> rt.parallelFor(base.length * chunks, work, task);
    }

    /** The index of the first element of the blocks, in order, equal to {@code m} (the first NaN when m is NaN). */
    private static long firstEqual(MemorySegment in, long b, long[] off, int len, float m, boolean simd) {
        boolean nan = Float.isNaN(m);
        for (long o : off) {
            long s = b + o;
            int j = 0;
            if (simd) {
                for (; j <= len - L; j += L) {
                    FloatVector v = FloatVector.fromMemorySegment(S, in, (s + j) * 4L, NATIVE);
                    VectorMask<Float> hit = nan ? v.test(VectorOperators.IS_NAN) : v.compare(VectorOperators.EQ, m);
                    if (hit.anyTrue()) return s + j + hit.firstTrue();
                }
            }
            for (; j < len; j++) {
                float v = in.getAtIndex(F, s + j);
                if (nan ? Float.isNaN(v) : v == m) return s + j;
            }
        }
        throw new IllegalStateException("no element equals the maximum " + m);   // unreachable: m is one of them
    }

    /**
     * Per lane j of the rows {@code [src + off[k], + len)}: the first k whose value is maximal, the reference's
     * scan (replace when strictly greater, or when NaN over a non-NaN), into {@code arg}.
     */
    private static void firstArgMax(MemorySegment in, long src, long[] off, int len, float[] best, int[] arg,
                                    boolean simd) {
        for (int j = 0; j < len; j++) {
            best[j] = in.getAtIndex(F, src + off[0] + j);
            arg[j] = 0;
        }
        for (int k = 1; k < off.length; k++) {
            long s = src + off[k];
            int j = 0;
            if (simd) {
                IntVector vk = IntVector.broadcast(INTS, k);
                for (; j <= len - L; j += L) {
                    FloatVector v = FloatVector.fromMemorySegment(S, in, (s + j) * 4L, NATIVE), b = FloatVector.fromArray(S, best, j);
                    VectorMask<Float> take = v.compare(VectorOperators.GT, b)
                            .or(v.test(VectorOperators.IS_NAN).andNot(b.test(VectorOperators.IS_NAN)));
                    b.blend(v, take).intoArray(best, j);
                    IntVector.fromArray(INTS, arg, j).blend(vk, take.cast(INTS)).intoArray(arg, j);
                }
            }
            for (; j < len; j++) {
                float v = in.getAtIndex(F, s + j), b = best[j];
                if (v > b || Float.isNaN(v) && !Float.isNaN(b)) {
                    best[j] = v;
                    arg[j] = k;
                }
            }
        }
    }
}
