package dev.stride.engine.cpu;

import dev.stride.engine.reference.Indexing;
import dev.stride.graph.Shape;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.BinaryBackward;
import dev.stride.graph.op.Clip;
import dev.stride.graph.op.ClipBackward;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Cpu kernels for the ops added for ONNX import and their gradients, float32. This class registers them all and
 * holds the elementwise ones (Clip, ClipBackward, BinaryBackward of POW/MAX/MIN); the others live in
 * {@link OnnxLayoutKernels} (Transpose, Gather, PadBackward), {@link OnnxReduceMax}, {@link OnnxNormKernels} (InstanceNorm2d,
 * Lrn), {@link OnnxLpPool} and {@link OnnxResize}. Each kernel follows the reference's semantics (OnnxKernels)
 * exactly, tie rules and edge cases included; where it computes in float what the reference computes in double,
 * the test's tolerance key says how far that may drift.
 *
 * <p>Every kernel splits its work with {@link CpuRuntime#parallelFor} into items whose outputs no other item
 * writes, each computed in a fixed order, so results are bit-identical for any thread count. The tasks are built in
 * the factories: a run allocates nothing.
 */
final class OnnxOpKernels {
    private OnnxOpKernels() {}

    static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    /**
     * The vector species of every loop of this family. It must be a compile-time constant (a static final): read
     * from a field or a captured local, the Vector API's intrinsics fall back to generic code many times slower.
     */
    static final VectorSpecies<Float> S = VectorConfig.SPECIES;
    static final int L = S.length();

    // Vector loads and stores are written out in full (FloatVector.fromMemorySegment / intoMemorySegment, which
    // are force-inlined) rather than through small helpers: in a large kernel lambda C2 may decline to inline a
    // helper, and a FloatVector passed to or returned from a call that is not inlined is boxed, every vector
    // (measured: 16 bytes of garbage per float and 3x slower instance-norm backward). For the same reason no
    // method of this family takes or returns a vector unless it is tiny and called from a small method.

    /** Floats per work item of a streaming loop: 32 KiB, large next to a task's hand-off, small next to L2. */
    static final int BLOCK = 8192;

    /**
     * GEMM flops one element visit of these streaming kernels is worth for {@link CpuRuntime#parallelFor}'s
     * threshold (counted in GEMM flops, about 100 us of one core's SGEMM per share): they do a few vector
     * operations per float loaded or stored, 10 to 25 times fewer flops per second than SGEMM. 32 leans towards
     * not splitting, as a share must then be worth about as long as a worker takes to wake.
     */
    static final long FLOPS_PER_VISIT = 32;

    /** The parallelFor work figure of {@code visits} element visits. */
    static long cost(long visits) {
        return visits > Long.MAX_VALUE / FLOPS_PER_VISIT ? Long.MAX_VALUE : visits * FLOPS_PER_VISIT;
    }

    static void register(CpuKernelRegistry r) { register(r, VectorConfig.SIMD); }

    /** Registers every kernel of the family on the SIMD or the scalar path (tests run both in one JVM). */
    static void register(CpuKernelRegistry r, boolean simd) {
        r.register(Clip.class, (op, node) -> clip(op, node, simd));
        r.register(ClipBackward.class, (op, node) -> clipBackward(op, node, simd));
        r.register(BinaryBackward.class, (op, node) -> binaryBackward(op, node, simd));
        OnnxLayoutKernels.register(r, simd);
        OnnxReduceMax.register(r, simd);
        OnnxNormKernels.register(r, simd);
        OnnxLpPool.register(r, simd);
        OnnxResize.register(r, simd);
    }

    /** A kernel over {@code n} independent elements, in blocks of {@link #BLOCK}: {@code body} does [from, to). */
    interface Span {
        void run(long from, long to);
    }

    static CpuKernel blocks(CpuNode node, long n, long visitsPerElement, Span body) {
        int items = Math.toIntExact((n + BLOCK - 1) / BLOCK);
        long work = cost(n * visitsPerElement);
        CpuRuntime rt = node.runtime();
        CpuRuntime.RangeTask task = (w, from, to) -> body.run((long) from * BLOCK, Math.min(n, (long) to * BLOCK));
        return ctx -> rt.parallelFor(items, work, task);
    }

    // ---- clip ----

    /** min(max(x, lo), hi) as Math.min/max: NaN propagates, and lo > hi gives hi everywhere, as the reference. */
    private static CpuKernel clip(Clip op, CpuNode node, boolean simd) {
        MemorySegment x = node.in(0), y = node.out(0);
        // Rounding the bounds to float first changes nothing: for a float x, max(x, lo) rounded to float is
        // max(x, (float) lo), as no float lies strictly between lo and (float) lo.
        float lo = (float) op.min(), hi = (float) op.max();
        return blocks(node, y.byteSize() / Float.BYTES, 2, (from, to) -> {
            long i = from;
            if (simd) {
                FloatVector vl = FloatVector.broadcast(S, lo), vh = FloatVector.broadcast(S, hi);
                for (; i <= to - L; i += L) (FloatVector.fromMemorySegment(S, x, (i) * 4L, NATIVE).max(vl).min(vh)).intoMemorySegment(y, (i) * 4L, NATIVE);
            }
            for (; i < to; i++) y.setAtIndex(F, i, Math.min(Math.max(x.getAtIndex(F, i), lo), hi));
        });
    }

    /**
     * The smallest float x with lo < x for the double lo (so lo < x is x >= it), or NaN when no float passes. The
     * reference compares in double: a float threshold rounded to nearest would pass or stop x = (float) lo wrongly.
     */
    static float firstAbove(double lo) {
        if (lo == Double.POSITIVE_INFINITY) return Float.NaN;
        float f = (float) lo;
        return f > lo ? f : Math.nextUp(f);
    }

    /** The largest float x with x < hi, or NaN when none. */
    static float lastBelow(double hi) {
        if (hi == Double.NEGATIVE_INFINITY) return Float.NaN;
        float f = (float) hi;
        return f < hi ? f : Math.nextDown(f);
    }

    /** dx = dy where min < x < max (compared as the reference does, in double), 0 elsewhere and for NaN x. */
    private static CpuKernel clipBackward(ClipBackward op, CpuNode node, boolean simd) {
        MemorySegment x = node.in(0), dy = node.in(1), dx = node.out(0);
        float lo = firstAbove(op.min()), hi = lastBelow(op.max());
        return blocks(node, dx.byteSize() / Float.BYTES, 3, (from, to) -> {
            long i = from;
            if (simd) {
                FloatVector zero = FloatVector.zero(S);
                for (; i <= to - L; i += L) {
                    FloatVector v = FloatVector.fromMemorySegment(S, x, (i) * 4L, NATIVE);
                    VectorMask<Float> pass = v.compare(VectorOperators.GE, lo).and(v.compare(VectorOperators.LE, hi));
                    (zero.blend(FloatVector.fromMemorySegment(S, dy, (i) * 4L, NATIVE), pass)).intoMemorySegment(dx, (i) * 4L, NATIVE);
                }
            }
            for (; i < to; i++) {
                float v = x.getAtIndex(F, i);
                dx.setAtIndex(F, i, v >= lo && v <= hi ? dy.getAtIndex(F, i) : 0f);
            }
        });
    }

    // ---- POW, MAX, MIN gradients ----

    /**
     * A tensor of shape {@code out} walked as {@code count} rows of {@code len} contiguous elements (its dimensions
     * of size 1 dropped and neighbours merged where every operand allows), with, per operand broadcast against it,
     * each row's start and its step along the row (1, or 0 where the operand is broadcast along it).
     */
    record Rows(int count, int len, long[][] starts, int[] step) {
        static Rows of(Shape out, Shape... operands) {
            int k = operands.length;
            long[][] full = new long[k][];
            for (int j = 0; j < k; j++) full[j] = Indexing.broadcastStrides(operands[j], out);
            List<Integer> dims = new ArrayList<>();
            List<long[]> strides = new ArrayList<>();
            for (int i = 0; i < out.rank(); i++) {
                int d = out.dim(i);
                if (d == 1) continue;
                long[] s = new long[k];
                for (int j = 0; j < k; j++) s[j] = full[j][i];
                int last = dims.size() - 1;
                boolean merge = last >= 0;
                for (int j = 0; j < k && merge; j++) merge = strides.get(last)[j] == s[j] * d;
                if (merge) {
                    dims.set(last, dims.get(last) * d);
                    strides.set(last, s);
                } else {
                    dims.add(d);
                    strides.add(s);
                }
            }
            long size = out.size();
            int len = dims.isEmpty() ? 1 : dims.getLast();
            int count = size == 0 ? 0 : Math.toIntExact(size / len);
            long[][] starts = new long[k][count];
            int[] step = new int[k];
            if (!dims.isEmpty()) for (int j = 0; j < k; j++) step[j] = (int) strides.getLast()[j];
            int outer = Math.max(0, dims.size() - 1);
            int[] at = new int[outer];
            for (int row = 0; row < count; row++) {
                for (int j = 0; j < k; j++) {
                    long s = 0;
                    for (int d = 0; d < outer; d++) s += at[d] * strides.get(d)[j];
                    starts[j][row] = s;
                }
                for (int d = outer - 1; d >= 0 && ++at[d] == dims.get(d); d--) at[d] = 0;   // odometer
            }
            return new Rows(count, len, starts, step);
        }
    }

    /**
     * da and db of dy's shape. MAX and MIN are selections (exact; a NaN in either input sends dy to b, as the
     * reference's {@code a >= b} is false); POW follows the reference's formula in double per element, special
     * cases included, as float powers and logarithms would add error exactly where the gradient is steep.
     */
    private static CpuKernel binaryBackward(BinaryBackward op, CpuNode node, boolean simd) {
        Rows rows = Rows.of(node.inShape(2), node.inShape(0), node.inShape(1));
        MemorySegment a = node.in(0), b = node.in(1), dy = node.in(2), da = node.out(0), db = node.out(1);
        int len = rows.len(), perRow = (len + BLOCK - 1) / BLOCK;
        long[] aStart = rows.starts()[0], bStart = rows.starts()[1];
        boolean aRow = rows.step()[0] == 1, bRow = rows.step()[1] == 1;
        boolean pow = op.op() == Binary.Kind.POW, max = op.op() == Binary.Kind.MAX;
        long n = (long) rows.count() * len;
        CpuRuntime rt = node.runtime();
        CpuRuntime.RangeTask task = (w, from, to) -> {
            for (int item = from; item < to; item++) {
                int row = item / perRow, j0 = item % perRow * BLOCK, j1 = Math.min(len, j0 + BLOCK);
                long o = (long) row * len, as = aStart[row], bs = bStart[row];
                if (pow) powGrad(a, as, aRow, b, bs, bRow, dy, da, db, o, j0, j1);
                else selectGrad(max, simd, a, as, aRow, b, bs, bRow, dy, da, db, o, j0, j1);
            }
        };
        long work = cost(n * (pow ? 64 : 5));   // two pow calls and a log per POW element
        int items = rows.count() * perRow;
        return ctx -> rt.parallelFor(items, work, task);
    }

    private static void selectGrad(boolean max, boolean simd, MemorySegment a, long as, boolean aRow, MemorySegment b,
                                   long bs, boolean bRow, MemorySegment dy, MemorySegment da, MemorySegment db,
                                   long o, int j0, int j1) {
        int j = j0;
        if (simd) {
            FloatVector zero = FloatVector.zero(S);
            FloatVector va = aRow ? null : FloatVector.broadcast(S, a.getAtIndex(F, as));
            FloatVector vb = bRow ? null : FloatVector.broadcast(S, b.getAtIndex(F, bs));
            VectorOperators.Comparison toA = max ? VectorOperators.GE : VectorOperators.LE;
            for (; j <= j1 - L; j += L) {
                FloatVector x = aRow ? FloatVector.fromMemorySegment(S, a, (as + j) * 4L, NATIVE) : va, z = bRow ? FloatVector.fromMemorySegment(S, b, (bs + j) * 4L, NATIVE) : vb, g = FloatVector.fromMemorySegment(S, dy, (o + j) * 4L, NATIVE);
                VectorMask<Float> m = x.compare(toA, z);
                (zero.blend(g, m)).intoMemorySegment(da, (o + j) * 4L, NATIVE);
                (g.blend(zero, m)).intoMemorySegment(db, (o + j) * 4L, NATIVE);
            }
        }
        for (; j < j1; j++) {
            float x = a.getAtIndex(F, aRow ? as + j : as), z = b.getAtIndex(F, bRow ? bs + j : bs);
            float g = dy.getAtIndex(F, o + j);
            boolean toA = max ? x >= z : x <= z;
            da.setAtIndex(F, o + j, toA ? g : 0f);
            db.setAtIndex(F, o + j, toA ? 0f : g);
        }
    }

    private static void powGrad(MemorySegment a, long as, boolean aRow, MemorySegment b, long bs, boolean bRow,
                                MemorySegment dy, MemorySegment da, MemorySegment db, long o, int j0, int j1) {
        for (int j = j0; j < j1; j++) {
            double x = a.getAtIndex(F, aRow ? as + j : as), e = b.getAtIndex(F, bRow ? bs + j : bs);
            double g = dy.getAtIndex(F, o + j);
            da.setAtIndex(F, o + j, (float) (e == 0 ? 0 : g * e * Math.pow(x, e - 1)));
            db.setAtIndex(F, o + j, (float) (x == 0 && e >= 0 ? 0 : g * Math.pow(x, e) * Math.log(x)));
        }
    }
}
