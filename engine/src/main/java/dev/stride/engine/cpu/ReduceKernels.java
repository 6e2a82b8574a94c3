package dev.stride.engine.cpu;

import dev.stride.graph.Shape;
import dev.stride.graph.op.ReduceSum;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * ReduceSum and ReduceMean over any set of axes, in a fixed summation order. The input's axes are merged into
 * alternating groups of kept and reduced axes (neighbours of one kind are contiguous together; size-1 axes are
 * dropped). Then:
 * <ul>
 *   <li>innermost group kept (e.g. a sum over the batch of [N, F]): each output row of the innermost group is the
 *   sum of input rows, one per reduced index in row-major order, added with unit-stride vectors, in float;</li>
 *   <li>innermost group reduced (e.g. a sum over H*W): each output is a sum of contiguous runs, one per index of
 *   the other reduced groups in row-major order, each run summed by {@link ChunkedSums}, the runs in double.</li>
 * </ul>
 * Outputs (or tiles of an output row) are split over the workers; each is summed by one worker in that order.
 */
final class ReduceKernels {
    private ReduceKernels() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final VectorSpecies<Float> S = PoolKernels.S;   // a constant: see PoolKernels.S

    /** Output rows of a kept innermost group are split into tiles of this many floats for the workers. */
    private static final int TILE = 4096;

    /** Merged axes: sizes, input strides, and whether each group is reduced. */
    private record Groups(long[] size, long[] stride, boolean[] reduced) {
        static Groups of(Shape in, int[] axes) {
            boolean[] red = ReduceSum.reduced(in, axes);
            List<long[]> g = new ArrayList<>();     // {size, reduced ? 1 : 0}
            for (int a = 0; a < in.rank(); a++) {
                if (in.dim(a) == 1) continue;
                long kind = red[a] ? 1 : 0;
                if (!g.isEmpty() && g.getLast()[1] == kind) g.getLast()[0] *= in.dim(a);
                else g.add(new long[] {in.dim(a), kind});
            }
            int n = g.size();
            long[] size = new long[n], stride = new long[n];
            boolean[] reduced = new boolean[n];
            long s = 1;
            for (int i = n - 1; i >= 0; i--) {
                size[i] = g.get(i)[0];
                reduced[i] = g.get(i)[1] == 1;
                stride[i] = s;
                s *= size[i];
            }
            return new Groups(size, stride, reduced);
        }

        /** Offsets of every index combination of the groups {@code pick} selects among the first {@code upTo}, row-major. */
        long[] offsets(int upTo, boolean pickReduced) {
            long count = 1;
            for (int i = 0; i < upTo; i++) if (reduced[i] == pickReduced) count *= size[i];
            long[] t = new long[Math.toIntExact(count)];
            long[] idx = new long[upTo];
            for (int r = 0; r < t.length; r++) {
                long off = 0;
                for (int i = 0; i < upTo; i++) if (reduced[i] == pickReduced) off += idx[i] * stride[i];
                t[r] = off;
                for (int i = upTo - 1; i >= 0; i--) {
                    if (reduced[i] != pickReduced) continue;
                    if (++idx[i] < size[i]) break;
                    idx[i] = 0;
                }
            }
            return t;
        }
    }

    static CpuKernel create(CpuNode node, int[] axes, boolean mean, boolean simd) {
        Shape in = node.inShape(0);
        long outSize = node.outShape(0).size();
        MemorySegment x = node.in(0), y = node.out(0);
        if (outSize == 0) return ctx -> { };
        // The reference's count: an empty reduced axis gives 0 / 0 = NaN for the mean.
        double count = (double) in.size() / outSize;
        if (in.size() == 0) {
            float v = mean ? Float.NaN : 0f;
            return ctx -> FloatRuns.fill(y, 0, outSize, v, simd);
        }
        Groups g = Groups.of(in, axes);
        int n = g.size().length;
        CpuRuntime rt = node.runtime();
        long cost = StreamingCost.of(in.size());
        if (n == 0 || !anyReduced(g)) {             // nothing summed: a copy (a mean divides by 1)
            return ctx -> FloatRuns.copy(x, 0, y, 0, outSize);
        }
        if (!g.reduced()[n - 1]) {
            int width = Math.toIntExact(g.size()[n - 1]);
            long[] rowBase = g.offsets(n - 1, false), red = g.offsets(n, true);
            int tiles = Math.ceilDiv(width, TILE), items = Math.multiplyExact(rowBase.length, tiles);
            float c = (float) count;
            return ctx -> rt.parallelFor(items, cost, (w, from, to) -> {
                for (int item = from; item < to; item++) {
                    int o = item / tiles, j0 = (item % tiles) * TILE, len = Math.min(TILE, width - j0);
                    long dst = (long) o * width + j0, src = rowBase[o] + j0;
                    FloatRuns.copy(x, src + red[0], y, dst, len);
                    for (int r = 1; r < red.length; r++) addRun(x, src + red[r], y, dst, len, simd);
                    if (mean) divide(y, dst, len, c, simd);
                }
            });
        }
        long run = g.size()[n - 1];
        long[] base = g.offsets(n - 1, false), red = g.offsets(n - 1, true);
        return ctx -> rt.parallelFor(base.length, cost, (w, from, to) -> {
            for (int o = from; o < to; o++) {
                double sum = 0;
                for (long r : red) sum += ChunkedSums.deviations(x, base[o] + r, run, 0f, simd);
                y.setAtIndex(F, o, (float) (mean ? sum / count : sum));
            }
        });
    }

    private static boolean anyReduced(Groups g) {
        for (boolean r : g.reduced()) if (r) return true;
        return false;
    }

    /** {@code y[to, to + n) += x[from, from + n)}. */
    private static void addRun(MemorySegment x, long from, MemorySegment y, long to, int n, boolean simd) {
        int i = 0;
        if (simd) {
            for (int step = S.length(); i <= n - step; i += step) {
                long yb = (to + i) * Float.BYTES;
                FloatVector.fromMemorySegment(S, y, yb, NATIVE)
                        .add(FloatVector.fromMemorySegment(S, x, (from + i) * Float.BYTES, NATIVE))
                        .intoMemorySegment(y, yb, NATIVE);
            }
        }
        for (; i < n; i++) y.setAtIndex(F, to + i, y.getAtIndex(F, to + i) + x.getAtIndex(F, from + i));
    }

    /** {@code y[at, at + n) /= c}. */
    private static void divide(MemorySegment y, long at, int n, float c, boolean simd) {
        int i = 0;
        if (simd) {
            for (int step = S.length(); i <= n - step; i += step) {
                long b = (at + i) * Float.BYTES;
                FloatVector.fromMemorySegment(S, y, b, NATIVE).div(c).intoMemorySegment(y, b, NATIVE);
            }
        }
        for (; i < n; i++) y.setAtIndex(F, at + i, y.getAtIndex(F, at + i) / c);
    }
}
