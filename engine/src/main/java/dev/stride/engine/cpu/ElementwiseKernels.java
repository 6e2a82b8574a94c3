package dev.stride.engine.cpu;

import dev.stride.engine.RunContext;
import dev.stride.engine.reference.Indexing;
import dev.stride.graph.Shape;
import dev.stride.engine.reference.UnaryFormulas;
import dev.stride.graph.op.Affine;
import dev.stride.graph.op.BiasBroadcast;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.BroadcastTo;
import dev.stride.graph.op.Fill;
import dev.stride.graph.op.PRelu;
import dev.stride.graph.op.PReluBackward;
import dev.stride.graph.op.SumTo;
import dev.stride.graph.op.Unary;
import dev.stride.graph.op.UnaryBackward;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Cpu kernels for elementwise ops: Unary and its backward, Binary, Affine, Fill, BroadcastTo, SumTo, BiasBroadcast,
 * PRelu and its backward; and the loop machinery {@link TrainKernels} shares.
 *
 * <p>Vector code runs at {@link VectorConfig#SPECIES} with an explicit scalar tail; with {@link VectorConfig#SIMD}
 * off only the scalar code runs. Scalar code evaluates the reference kernel's formula in double and rounds once,
 * so a scalar result is the float reference's result. Transcendental functions are {@link VMath}'s, built from
 * IEEE operations, so a result does not depend on whether the JIT has compiled the loop yet.
 *
 * <p>Threads, bit-identical for any count: elementwise loops are split in {@link #BLOCK}-element blocks, a
 * multiple of every vector length, so an element takes the vector or the scalar path by its index alone (vector
 * exp and scalar exp differ in the last bit). Sums accumulate in double, each output element by one thread in a
 * fixed order; a sum over everything adds fixed {@link #CHUNK}-element partials in chunk order; lanes are added
 * in lane order ({@link #sum}), never by reduceLanes, whose order is unspecified.
 */
final class ElementwiseKernels {
    private ElementwiseKernels() {}

    static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /**
     * The float species of every vector loop here: {@link VectorConfig#SPECIES}, held in a static final because
     * the Vector API compiles to SIMD instructions only where the species is a JIT constant (from a field or a
     * parameter it runs its Java fallback: Adam measured 8.5x slower). Only {@code simd} is a factory argument.
     */
    static final VectorSpecies<Float> S = VectorConfig.SPECIES;
    /** The int species as wide as {@link #S}: float bits, lane for lane. */
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, S.vectorShape());
    /** The double species as wide as {@link #S}: a float vector converts into two of them. */
    static final VectorSpecies<Double> D = VectorSpecies.of(double.class, S.vectorShape());
    static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    /** Elements per block of a split elementwise loop: a multiple of every species length (at most 16 floats). */
    static final int BLOCK = 4096;
    /** Elements per partial of a sum over a whole tensor. Fixed, so the order of additions is too. */
    static final int CHUNK = 4 * BLOCK;
    /** Output columns per work item of a column sum (SumTo onto the inner dimension). */
    static final int COLUMNS = 2048;

    /**
     * How the kernels are made: {@code simd} false for the scalar path only, and the work estimates handed to
     * {@link CpuRuntime#parallelFor}, in its unit ("flops"; a loop is split only where each share gets
     * MIN_FLOP_PER_THREAD of them). Per element, single thread, in cache, measured here: a memory-bound pass
     * ~0.1-0.2 ns, so a share must be large (2^17 elements, ~15-25 us) to pay for the ~15-20 us wake-up of a pool
     * worker; exp/tanh/sigmoid ~1 ns (2^14 elements); the Gaussian of the random ops, Box-Muller in double,
     * ~20-40 ns (2^11). The split points follow from those costs; they are not tuned (the 2-core shared machine
     * they were written on cannot time a second thread). {@code scale} multiplies the estimates: tests split small
     * tensors with it, so the paths of every thread count run on shapes that are quick to check.
     */
    record Tuning(boolean simd, long scale) {
        static final Tuning DEFAULT = new Tuning(VectorConfig.SIMD, 1);

        long cheap() { return (CpuRuntime.MIN_FLOP_PER_THREAD >> 17) * scale; }

        long heavy() { return (CpuRuntime.MIN_FLOP_PER_THREAD >> 14) * scale; }

        long random() { return (CpuRuntime.MIN_FLOP_PER_THREAD >> 11) * scale; }
    }

    /** The Unary functions this file has vector and scalar code for; any other fails when its kernel is made. */
    static final Set<Unary.Fn> UNARY = EnumSet.of(Unary.Fn.RELU, Unary.Fn.LEAKY_RELU, Unary.Fn.ELU, Unary.Fn.SIGMOID,
            Unary.Fn.TANH, Unary.Fn.SOFTPLUS, Unary.Fn.EXP, Unary.Fn.LOG, Unary.Fn.SQRT, Unary.Fn.SQUARE, Unary.Fn.ABS,
            Unary.Fn.NEG, Unary.Fn.SIGN, Unary.Fn.SELU, Unary.Fn.HARD_SIGMOID, Unary.Fn.HARD_SWISH);

    static void register(CpuKernelRegistry r) { register(r, Tuning.DEFAULT); }

    /** Registers every kernel of this family: vector code at {@link #S}, or scalar only when {@code simd} is false. */
    static void register(CpuKernelRegistry r, Tuning tune) {
        r.register(Affine.class, (op, node) -> affine(op, node, tune));
        r.register(Fill.class, (op, node) -> fill(node, (float) op.value(), tune));
        r.register(Unary.class, (op, node) -> unary(op, node, tune));
        r.register(UnaryBackward.class, (op, node) -> unaryBackward(op, node, tune));
        r.register(Binary.class, (op, node) -> binary(op, node, tune));
        r.register(BroadcastTo.class, (op, node) -> broadcast(node, node.inShape(0), tune));
        r.register(BiasBroadcast.class, (op, node) -> broadcast(node, channelShape(node.outShape(0)), tune));
        r.register(SumTo.class, (op, node) -> sumTo(node, tune));
        r.register(PRelu.class, (op, node) -> prelu(node, tune));
        r.register(PReluBackward.class, (op, node) -> preluBackward(node, tune));
    }

    // ------------------------------------------------------------------------------------------ loop machinery

    static FloatVector load(MemorySegment m, long i) {
        return FloatVector.fromMemorySegment(S, m, i << 2, NATIVE);
    }

    static void store(FloatVector v, MemorySegment m, long i) { v.intoMemorySegment(m, i << 2, NATIVE); }

    static float get(MemorySegment m, long i) { return m.getAtIndex(F, i); }

    static void set(MemorySegment m, long i, float v) { m.setAtIndex(F, i, v); }

    static long size(MemorySegment m) { return m.byteSize() >> 2; }

    /**
     * A call that C2 cannot inline: {@code owner.name} on {@code receiver} through a bound, hence non-constant,
     * MethodHandle. Shared dispatch code (Blocked.run, UnaryLoop.span, CpuRuntime.parallelFor) calls each kernel's
     * SIMD loop through one, so that every loop is compiled on its own. Without it C2 inlines the loops of the two
     * kernels a call site has seen (bimorphic inlining) into the shared method, a large loop there exhausts the node
     * budget of that compilation, and the other loop's vectors are boxed: measured, ReLU went from 0.12 to 1.8 ns
     * per element after a Log kernel had run. A call through a handle costs some nanoseconds per block range.
     */
    static MethodHandle barrier(Object receiver, Class<?> owner, String name, MethodType type) {
        try {
            return MethodHandles.lookup().findVirtual(owner, name, type).bindTo(receiver);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("no " + owner.getSimpleName() + "." + name + type, e);
        }
    }

    /** Rethrows what a call through a {@link #barrier} threw. */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }

    private static final MethodType RANGE = MethodType.methodType(void.class, int.class, int.class, int.class);

    /** {@code task} behind a {@link #barrier}: what a kernel hands to parallelFor when its task holds a SIMD loop. */
    static CpuRuntime.RangeTask isolated(CpuRuntime.RangeTask task) {
        MethodHandle call = barrier(task, CpuRuntime.RangeTask.class, "run", RANGE);
        return (worker, from, to) -> {
            try {
                call.invokeExact(worker, from, to);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        };
    }

    /**
     * A kernel over elements [0, n) in {@link #BLOCK}-element blocks, shared among threads when the work is large
     * enough. {@link #span} must treat its range as independent of how blocks were shared: it starts at a block
     * boundary and ends at one or at n.
     */
    abstract static class Blocked implements CpuKernel, CpuRuntime.RangeTask {
        private final CpuRuntime runtime;
        final long n;
        private final int blocks;
        private final long work;

        private final MethodHandle spanCall = barrier(this, Blocked.class, "span",
                MethodType.methodType(void.class, long.class, long.class));

        Blocked(CpuNode node, long n, long costPerElement) {
            this.runtime = node.runtime();
            this.n = n;
            this.blocks = Math.toIntExact((n + BLOCK - 1) / BLOCK);
            this.work = n * costPerElement;
        }

        /** Per-run setup on the run loop's thread before any span runs: scalar inputs, the random key. */
        void prepare(RunContext ctx) {}

        @Override public final void run(RunContext ctx) {
            prepare(ctx);
            runtime.parallelFor(blocks, work, this);
        }

        @Override public final void run(int worker, int from, int to) {
            try {
                spanCall.invokeExact((long) from * BLOCK, Math.min(n, (long) to * BLOCK));
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        abstract void span(long from, long to);
    }

    /**
     * A sum over items [0, n) (elements, or rows of a loss) in fixed {@code chunk}-item partials, possibly computing
     * elementwise outputs on the way, added in chunk order after every chunk is done: the same additions for any
     * thread count. {@code chunk} must depend on shapes only.
     */
    abstract static class ChunkedSum implements CpuKernel, CpuRuntime.RangeTask {
        private final CpuRuntime runtime;
        final long n;
        private final int chunk;
        private final double[] partial;
        private final long work;

        private final MethodHandle chunkCall = barrier(this, ChunkedSum.class, "chunk",
                MethodType.methodType(double.class, long.class, long.class));

        ChunkedSum(CpuNode node, long n, int chunk, long work) {
            this.runtime = node.runtime();
            this.n = n;
            this.chunk = chunk;
            this.partial = new double[Math.toIntExact((n + chunk - 1) / chunk)];
            this.work = work;
        }

        /** {@link #CHUNK}-element partials of an elementwise sum costing {@code costPerElement} each. */
        ChunkedSum(CpuNode node, long n, long costPerElement) { this(node, n, CHUNK, n * costPerElement); }

        void prepare(RunContext ctx) {}

        /** The partial sum of items [from, to). */
        abstract double chunk(long from, long to);

        /** Receives the total. */
        abstract void finish(double total);

        @Override public final void run(RunContext ctx) {
            prepare(ctx);
            runtime.parallelFor(partial.length, work, this);
            double total = 0;
            for (double p : partial) total += p;
            finish(total);
        }

        @Override public final void run(int worker, int from, int to) {
            try {
                for (int c = from; c < to; c++)
                    partial[c] = (double) chunkCall.invokeExact((long) c * chunk, Math.min(n, (long) (c + 1) * chunk));
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }
    }

    /**
     * exp, expm1, log, log1p, tanh and sigmoid of float vectors from add, multiply, fma, divide, compare and bit
     * operations only. The Vector API's own lanewise EXP/LOG/TANH are not usable here: they run Java fallback code
     * until C2 compiles the loop and SVML stubs after, which differ in the last bit (measured: 43 of 1024 lanes of
     * EXP), so a result would depend on JIT warm-up. IEEE operations give the same bits in every tier and on every
     * machine. Polynomials are Cephes' single-precision ones (expf, logf); VMathTest bounds the error at 2-3 ulp.
     *
     * <p>Kept lean on purpose: every Vector API call expands to many C2 nodes before intrinsification, and a loop
     * whose method passes C2's node budget (NodeCountInliningCutoff) stops inlining and boxes every vector, ~20x
     * slower. Constants are static final vectors (no broadcast per use), and no function takes a special-case path
     * its callers' ranges do not need.
     */
    static final class VMath {
        private VMath() {}

        private static FloatVector c(float v) { return FloatVector.broadcast(S, v); }

        private static final FloatVector ONE = c(1f), HALF = c(0.5f), TWO = c(2f), ZERO = c(0f);
        private static final FloatVector LOG2E = c(1.44269504088896341f);
        /** ln 2 = LN2_HI + LN2_LO; LN2_HI has 9 significant bits, so n * LN2_HI is exact for |n| < 2^15. */
        private static final FloatVector NEG_LN2_HI = c(-0.693359375f), NEG_LN2_LO = c(2.12194440e-4f);
        private static final FloatVector LN2_HI = c(0.693359375f), LN2_LO = c(-2.12194440e-4f);
        /** 1.5 * 2^23: adding it rounds a float of magnitude < 2^22 to an integer (ties to even). */
        private static final FloatVector ROUND = c(0x1.8p23f);
        /** Cephes expf: e^r = 1 + r + r^2 (E0 + E1 r + ... + E5 r^5) on |r| <= ln2/2. */
        private static final FloatVector E5 = c(1.9875691500E-4f), E4 = c(1.3981999507E-3f), E3 = c(8.3334519073E-3f),
                E2 = c(4.1665795894E-2f), E1 = c(1.6666665459E-1f), E0 = c(5.0000001201E-1f);
        /** 2 atanh(s) / (2s) = 1 + s^2/3 + s^4/5 + ...: A_k = 1/(2k+1). */
        private static final FloatVector A1 = c(1 / 3f), A2 = c(1 / 5f), A3 = c(1 / 7f), A4 = c(1 / 9f),
                A5 = c(1 / 11f), A6 = c(1 / 13f);
        private static final FloatVector INF = c(Float.POSITIVE_INFINITY);

        /** round(x / ln2), for |x| < 2^21. */
        private static FloatVector steps(FloatVector x) { return x.fma(LOG2E, ROUND).sub(ROUND); }

        /** e^r - 1 for r = x - n ln2 (|r| <= ln2/2), as r + r^2 Q(r) (Cephes expf): no cancellation near 0. */
        private static FloatVector expm1Reduced(FloatVector x, FloatVector n) {
            FloatVector r = n.fma(NEG_LN2_LO, n.fma(NEG_LN2_HI, x));
            FloatVector q = r.fma(E5, E4).fma(r, E3).fma(r, E2).fma(r, E1).fma(r, E0);
            return q.fma(r.mul(r), r);
        }

        /** 2^(n - 1) for integral n in [-125, 128], from the exponent bits. */
        private static FloatVector pow2m1(FloatVector n) {
            return ((IntVector) n.convert(VectorOperators.F2I, 0)).add(126).lanewise(VectorOperators.LSHL, 23)
                    .reinterpretAsFloats();
        }

        /** e^x; results below 2^-125 (x < -86.9, subnormal or nearly) flush to 0. */
        static FloatVector exp(FloatVector x) {
            FloatVector c = x.max(-86.9f).min(88.8f);
            FloatVector n = steps(c);                                              // [-125, 128]
            FloatVector e = expm1Reduced(c, n).add(ONE).mul(pow2m1(n)).mul(TWO);   // 2^n = 2 * 2^(n-1): no overflow
            return e.blend(ZERO, x.compare(VectorOperators.LT, -86.9f));
        }

        /** e^x - 1, with relative accuracy near 0. */
        static FloatVector expm1(FloatVector x) {
            // e^x - 1 = 2 (q 2^(n-1) + (2^(n-1) - 1/2)) with q = e^r - 1: exactly q where n = 0 (near 0, where
            // expm1 matters), no cancellation at n = +-1. Below -86.5 the result is -1 in float; past ln(max
            // float) it overflows to infinity by itself.
            FloatVector c = x.max(-86.5f).min(88.8f);
            FloatVector n = steps(c);
            FloatVector s = pow2m1(n);
            return expm1Reduced(c, n).fma(s, s.sub(HALF)).mul(TWO);
        }

        /** log(1 + f) = 2 atanh(f / (2 + f)) for f in [-0.3, 1]: the series in s = f/(2+f), |s| <= 1/3. */
        private static FloatVector log1pSeries(FloatVector f) {
            FloatVector s = f.div(f.add(TWO)), z = s.mul(s);
            FloatVector p = z.fma(A6, A5).fma(z, A4).fma(z, A3).fma(z, A2).fma(z, A1);
            return s.add(s).fma(z.mul(p), s.add(s));
        }

        /**
         * log x for normal positive finite x: x = m 2^e with m in [sqrt(1/2), sqrt(2)), log m by the atanh series.
         * Other lanes (0, subnormal, negative, infinite, NaN) give garbage: see {@link #abnormal}.
         *
         * <p>{@code bits} are x's bits, loaded from memory as ints by the caller. Not x.reinterpretAsInts(): until C2
         * compiles the call, that runs a fallback which stores the float vector into a heap byte[] segment through
         * FloatVector.intoMemorySegment, the very method every kernel stores with; the type profile it leaves there
         * (93% byte[] segments, measured) made C2 compile the native stores of every kernel compiled afterwards
         * about 4x slower. (IntVector.reinterpretAsFloats, as in pow2m1, only touches IntVector's store.)
         */
        static FloatVector logNormal(FloatVector x, IntVector bits) {
            // The exponent without a shift: the exponent field alone, read as an integer, is E * 2^23, exact in float.
            FloatVector e = ((FloatVector) bits.and(0x7f800000).convert(VectorOperators.I2F, 0)).fma(c(0x1p-23f), c(-127f));
            FloatVector m = bits.and(0x007fffff).or(0x3f800000).reinterpretAsFloats();       // [1, 2)
            VectorMask<Float> big = m.compare(VectorOperators.GE, 1.41421356237309505f);
            m = m.blend(m.mul(HALF), big);
            e = e.add(ZERO.blend(ONE, big));
            FloatVector l = log1pSeries(m.sub(ONE));                                       // m - 1 is exact
            return e.fma(LN2_HI, e.fma(LN2_LO, l));
        }

        /**
         * Lanes {@link #logNormal} does not cover. Kernels redo those few lanes in scalar code rather than blending
         * five special cases into every vector: that would pass C2's node budget (see above).
         */
        static VectorMask<Float> abnormal(FloatVector x) {
            return x.compare(VectorOperators.GE, 0x1p-126f).and(x.compare(VectorOperators.LT, Float.POSITIVE_INFINITY)).not();
        }

        /** log(1 + t) for t in [0, 1], the range softplus and BCE need: the atanh series directly. */
        static FloatVector log1pUnit(FloatVector t) { return log1pSeries(t); }

        /** tanh x = -e/(e + 2) with e = expm1(-2|x|), the sign of x restored; x itself where x^3 is lost (+-0 too). */
        static FloatVector tanh(FloatVector x) {
            FloatVector a = x.abs();
            FloatVector e = expm1(a.mul(-2f));
            FloatVector t = e.neg().div(e.add(TWO));
            t = t.blend(t.neg(), x.compare(VectorOperators.LT, 0f));
            return t.blend(x, a.compare(VectorOperators.LT, 0x1p-12f));
        }

        /** 1/(1 + e^-|x|) for x >= 0, e^-|x|/(1 + e^-|x|) below: exp of a non-positive number only. */
        static FloatVector sigmoid(FloatVector x) {
            FloatVector e = exp(x.abs().neg());
            FloatVector p = ONE.div(e.add(ONE));
            return e.mul(p).blend(p, x.compare(VectorOperators.GE, 0f));
        }

        /** log(1 + e^x) = log1p(e^-|x|) + max(x, 0): exp never overflows. */
        static FloatVector softplus(FloatVector x) {
            return log1pUnit(exp(x.abs().neg())).add(x.max(0f));
        }
    }

    /** The lanes of {@code v} added in lane order: reduceLanes(ADD) leaves the order unspecified, so bits could vary. */
    static double sum(DoubleVector v) {
        double s = 0;
        for (int i = 0; i < v.length(); i++) s += v.lane(i);
        return s;
    }

    /** The low half of {@code v}'s lanes, exactly, as doubles. */
    static DoubleVector lo(FloatVector v) { return (DoubleVector) v.convertShape(VectorOperators.F2D, D, 0); }

    /** The high half of {@code v}'s lanes, exactly, as doubles. */
    static DoubleVector hi(FloatVector v) { return (DoubleVector) v.convertShape(VectorOperators.F2D, D, 1); }

    /** sum(m[at .. at+len)) in double; the lane structure depends only on (at, len). */
    static double sumRow(MemorySegment m, long at, int len, boolean simd) {
        int t = 0;
        double sum = 0;
        if (simd && len >= S.length()) {
            DoubleVector a0 = DoubleVector.zero(D), a1 = DoubleVector.zero(D);
            for (; t <= len - S.length(); t += S.length()) {
                FloatVector v = load(m, at + t);
                a0 = a0.add(lo(v));
                a1 = a1.add(hi(v));
            }
            sum = sum(a0.add(a1));
        }
        for (; t < len; t++) sum += get(m, at + t);
        return sum;
    }

    /** acc[0 .. len) += m[at .. at+len), in double. */
    static void addRow(double[] acc, MemorySegment m, long at, int len, boolean simd) {
        int t = 0;
        if (simd) {
            int half = D.length();
            for (; t <= len - S.length(); t += S.length()) {
                FloatVector v = load(m, at + t);
                DoubleVector.fromArray(D, acc, t).add(lo(v)).intoArray(acc, t);
                DoubleVector.fromArray(D, acc, t + half).add(hi(v)).intoArray(acc, t + half);
            }
        }
        for (; t < len; t++) acc[t] += get(m, at + t);
    }

    /**
     * A broadcasting op's output as rows: dimensions that every operand walks together (contiguously, or repeating
     * one element) are merged, and the innermost merged dimension is the row. Operand k's row r starts at
     * {@code offset[k][r]} and either walks the row ({@code unit[k]}, stride 1) or repeats that one element
     * (stride 0). Same shapes merge into one row; a scalar operand repeats; [N,C,H,W] op [1,C,1,1] is N*C rows of
     * H*W with one element of the second operand per row; [N,C] op [C] is N rows of C walking both. Built once,
     * in the factory: the general strided case costs a table of row offsets, nothing per element.
     */
    static final class Rows {
        final int len;
        final int rows;
        final int[][] offset;
        final boolean[] unit;

        private Rows(int len, int rows, int[][] offset, boolean[] unit) {
            this.len = len;
            this.rows = rows;
            this.offset = offset;
            this.unit = unit;
        }

        /** The rows of {@code out}; each operand must broadcast to it. */
        static Rows of(Shape out, Shape... operands) {
            int k = operands.length;
            long[][] st = new long[k][];
            for (int j = 0; j < k; j++) st[j] = Indexing.broadcastStrides(operands[j], out);
            // Merged dimensions, innermost first: {size, stride of operand 0, ..., stride of operand k-1}, the
            // strides those of the group's innermost dimension. A dimension joins the group inside it when, for
            // every operand, its stride is the group's stride times the group's size (0 == 0 * size included).
            List<long[]> groups = new ArrayList<>();
            for (int d = out.rank() - 1; d >= 0; d--) {
                int size = out.dim(d);
                if (size == 1) continue;
                long[] g = groups.isEmpty() ? null : groups.getLast();
                boolean merge = g != null;
                for (int j = 0; merge && j < k; j++) merge = st[j][d] == g[1 + j] * g[0];
                if (merge) {
                    g[0] *= size;
                } else {
                    long[] ng = new long[1 + k];
                    ng[0] = size;
                    for (int j = 0; j < k; j++) ng[1 + j] = st[j][d];
                    groups.add(ng);
                }
            }
            long total = out.size();
            boolean[] unit = new boolean[k];
            if (total == 0) return new Rows(1, 0, new int[k][0], unit);
            int len = groups.isEmpty() ? 1 : Math.toIntExact(groups.getFirst()[0]);
            for (int j = 0; j < k; j++) {
                long inner = groups.isEmpty() ? 1 : groups.getFirst()[1 + j];
                if (inner != 0 && inner != 1) throw new IllegalStateException("innermost stride " + inner);
                unit[j] = inner == 1;
            }
            int rows = Math.toIntExact(total / len);
            int[][] offset = new int[k][rows];
            int[] counter = new int[groups.size()];
            long[] cur = new long[k];
            for (int r = 0; r < rows; r++) {
                for (int j = 0; j < k; j++) offset[j][r] = Math.toIntExact(cur[j]);
                for (int g = 1; g < groups.size(); g++) {      // odometer over the outer groups
                    long[] grp = groups.get(g);
                    counter[g]++;
                    for (int j = 0; j < k; j++) cur[j] += grp[1 + j];
                    if (counter[g] < grp[0]) break;
                    for (int j = 0; j < k; j++) cur[j] -= grp[1 + j] * grp[0];
                    counter[g] = 0;
                }
            }
            return new Rows(len, rows, offset, unit);
        }
    }

    /** Elementwise over the output in blocks, visited row by row: {@link #row} gets a row piece. */
    abstract static class RowKernel extends Blocked {
        final Rows rows;

        RowKernel(CpuNode node, Rows rows, long cost) {
            super(node, (long) rows.rows * rows.len, cost);
            this.rows = rows;
        }

        @Override final void span(long from, long to) {
            int len = rows.len;
            int r = (int) (from / len), j = (int) (from - (long) r * len);
            for (long i = from; i < to; r++, j = 0) {
                int m = (int) Math.min(len - j, to - i);
                row(r, j, i, m);
                i += m;
            }
        }

        /** Output elements [at, at + m), which are elements [j, j + m) of row r. */
        abstract void row(int r, int j, long at, int m);

        /** Where operand k's element j of row r is. */
        final long at(int k, int r, int j) { return rows.offset[k][r] + (rows.unit[k] ? j : 0); }
    }

    /**
     * The adjoint of {@link Rows}: an input of a reduction in rows, grouped by the output slice they add into.
     * With {@link #keep} the row's dimension survives and a row adds elementwise into {@link #len} outputs
     * starting at {@code g * len}; otherwise the row sums into the one output {@code g}. Rows of group g are
     * {@code rowOf[start[g] .. start[g+1])}, ascending (the order their sums are added in); row r starts at input
     * element {@code r * len}.
     */
    static final class Groups {
        final int len;
        final boolean keep;
        final int count;
        final int[] start;
        final int[] rowOf;

        private Groups(int len, boolean keep, int count, int[] start, int[] rowOf) {
            this.len = len;
            this.keep = keep;
            this.count = count;
            this.start = start;
            this.rowOf = rowOf;
        }

        /** Groups of {@code in} summed onto {@code target}, which broadcasts to {@code in}. */
        static Groups of(Shape in, Shape target) {
            Rows rows = Rows.of(in, target);
            boolean keep = rows.unit[0];
            int width = keep ? rows.len : 1;
            int count = Math.toIntExact(target.size() / width);
            int[] start = new int[count + 1];
            int[] dst = rows.offset[0];
            for (int r = 0; r < rows.rows; r++) start[dst[r] / width + 1]++;
            for (int g = 0; g < count; g++) start[g + 1] += start[g];
            int[] next = start.clone();
            int[] rowOf = new int[rows.rows];
            for (int r = 0; r < rows.rows; r++) rowOf[next[dst[r] / width]++] = r;
            return new Groups(rows.len, keep, count, start, rowOf);
        }
    }

    /** [C, 1, ..., 1] (rank - 1 dimensions): a per-channel tensor laid against an [N, C, ...] one. */
    static Shape channelShape(Shape x) {
        int[] d = new int[x.rank() - 1];
        java.util.Arrays.fill(d, 1);
        d[0] = x.dim(1);
        return Shape.of(d);
    }

    // ------------------------------------------------------------------------------------------ Affine, Fill

    private static CpuKernel affine(Affine op, CpuNode node, Tuning tune) {
        boolean simd = tune.simd();
        MemorySegment x = node.in(0), y = node.out(0);
        double scale = op.scale(), shift = op.shift();
        float a = (float) scale, c = (float) shift;
        return new Blocked(node, size(y), tune.cheap()) {
            @Override void span(long from, long to) {
                long i = from;
                if (simd) {
                    FloatVector va = FloatVector.broadcast(S, a), vc = FloatVector.broadcast(S, c);
                    for (long end = to - S.length(); i <= end; i += S.length()) store(load(x, i).fma(va, vc), y, i);
                }
                for (; i < to; i++) set(y, i, (float) (scale * get(x, i) + shift));
            }
        };
    }

    private static CpuKernel fill(CpuNode node, float v, Tuning tune) {
        boolean simd = tune.simd();
        MemorySegment y = node.out(0);
        return new Blocked(node, size(y), tune.cheap()) {
            @Override void span(long from, long to) {
                long i = from;
                if (simd) {
                    FloatVector vv = FloatVector.broadcast(S, v);
                    for (long end = to - S.length(); i <= end; i += S.length()) store(vv, y, i);
                }
                for (; i < to; i++) set(y, i, v);
            }
        };
    }

    // ------------------------------------------------------------------------------------------ Unary

    private static void requireSupported(Unary.Fn fn, String op) {
        if (!UNARY.contains(fn))
            throw new UnsupportedOperationException("the cpu " + op + " kernel has no code for " + fn
                    + ": add its vector loop and scalar formula to ElementwiseKernels (unary/unaryGrad)");
    }

    private static boolean heavy(Unary.Fn fn) {
        return switch (fn) {
            case ELU, SIGMOID, TANH, SOFTPLUS, EXP, LOG, SELU -> true;
            default -> false;
        };
    }

    /**
     * y = f(x) in blocks: {@link #vector} is the SIMD loop, the rest of a span (the tail, or all of it with SIMD off)
     * runs the reference formula in double. Each function is its own subclass, so that each SIMD loop is compiled
     * on its own: one method holding every function's loop would pass C2's inlining budget once a model uses a few
     * of them.
     */
    private abstract static class UnaryLoop extends Blocked {
        final MemorySegment x, y;
        final float a, b;
        private final Unary.Fn fn;
        private final double alpha, beta;
        private final boolean simd;

        private final MethodHandle vectorCall = barrier(this, UnaryLoop.class, "vector",
                MethodType.methodType(long.class, long.class, long.class));

        UnaryLoop(CpuNode node, Unary op, Tuning tune) {
            super(node, size(node.out(0)), heavy(op.fn()) ? tune.heavy() : tune.cheap());
            this.x = node.in(0);
            this.y = node.out(0);
            this.fn = op.fn();
            this.alpha = op.alpha();
            this.beta = op.beta();
            this.a = (float) op.alpha();
            this.b = (float) op.beta();
            this.simd = tune.simd();
        }

        /** The SIMD loop over whole vectors from {@code from}; returns where it stopped. */
        abstract long vector(long from, long to);

        @Override final void span(long from, long to) {
            for (long i = simd ? through(vectorCall, from, to) : from; i < to; i++)
                set(y, i, (float) UnaryFormulas.unary(fn, alpha, beta, get(x, i)));
        }
    }

    /** The SIMD loop of a unary kernel, through its barrier; returns where it stopped. */
    private static long through(MethodHandle call, long from, long to) {
        try {
            return (long) call.invokeExact(from, to);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static CpuKernel unary(Unary op, CpuNode node, Tuning tune) {
        boolean simd = tune.simd();
        requireSupported(op.fn(), "Unary");
        int l = S.length();
        return switch (op.fn()) {
            case RELU -> new UnaryLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) store(load(x, i).max(0f), y, i);
                    return i;
                }
            };
            case LEAKY_RELU -> new UnaryLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) {
                        FloatVector v = load(x, i);
                        store(v.mul(a).blend(v, v.compare(VectorOperators.GT, 0f)), y, i);
                    }
                    return i;
                }
            };
            case ELU -> new UnaryLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) {
                        FloatVector v = load(x, i);
                        store(VMath.expm1(v).mul(a).blend(v, v.compare(VectorOperators.GT, 0f)), y, i);
                    }
                    return i;
                }
            };
            case SIGMOID -> new UnaryLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) store(VMath.sigmoid(load(x, i)), y, i);
                    return i;
                }
            };
            case TANH -> new UnaryLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) store(VMath.tanh(load(x, i)), y, i);
                    return i;
                }
            };
            case SOFTPLUS -> new UnaryLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) store(VMath.softplus(load(x, i)), y, i);
                    return i;
                }
            };
            case EXP -> new UnaryLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) store(VMath.exp(load(x, i)), y, i);
                    return i;
                }
            };
            case LOG -> new UnaryLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) {
                        FloatVector v = load(x, i);
                        store(VMath.logNormal(v, IntVector.fromMemorySegment(I, x, i << 2, NATIVE)), y, i);
                        if (VMath.abnormal(v).anyTrue())          // 0, subnormal, negative, infinite, NaN: rare
                            for (long j = i; j < i + l; j++) set(y, j, (float) Math.log(get(x, j)));
                    }
                    return i;
                }
            };
            case SQRT -> new UnaryLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) store(load(x, i).lanewise(VectorOperators.SQRT), y, i);
                    return i;
                }
            };
            case SQUARE -> new UnaryLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) {
                        FloatVector v = load(x, i);
                        store(v.mul(v), y, i);
                    }
                    return i;
                }
            };
            case ABS -> new UnaryLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) store(load(x, i).abs(), y, i);
                    return i;
                }
            };
            case NEG -> new UnaryLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) store(load(x, i).neg(), y, i);
                    return i;
                }
            };
            case SELU -> new UnaryLoop(node, op, tune) {         // b x above 0, b a (e^x - 1) below
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) {
                        FloatVector v = load(x, i);
                        store(VMath.expm1(v).mul(a).blend(v, v.compare(VectorOperators.GT, 0f)).mul(b), y, i);
                    }
                    return i;
                }
            };
            case HARD_SIGMOID -> new UnaryLoop(node, op, tune) { // clamp(a x + b, 0, 1)
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) store(load(x, i).fma(a, b).max(0f).min(1f), y, i);
                    return i;
                }
            };
            case HARD_SWISH -> new UnaryLoop(node, op, tune) {   // x clamp(x / 6 + 1/2, 0, 1)
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) {
                        FloatVector v = load(x, i);
                        store(v.mul(v.div(6f).add(0.5f).max(0f).min(1f)), y, i);
                    }
                    return i;
                }
            };
            case SIGN -> new UnaryLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) store(signum(load(x, i)), y, i);
                    return i;
                }
            };
        };
    }

    /** dx = dy f'(x) in blocks, as {@link UnaryLoop}: inputs x, y = f(x), dy. */
    private abstract static class UnaryGradLoop extends Blocked {
        final MemorySegment x, y, dy, dx;
        final float a, b;
        private final Unary.Fn fn;
        private final double alpha, beta;
        private final boolean simd;

        private final MethodHandle vectorCall = barrier(this, UnaryGradLoop.class, "vector",
                MethodType.methodType(long.class, long.class, long.class));

        UnaryGradLoop(CpuNode node, UnaryBackward op, Tuning tune) {
            super(node, size(node.out(0)), op.fn() == Unary.Fn.SOFTPLUS ? tune.heavy() : tune.cheap());
            this.x = node.in(0);
            this.y = node.in(1);
            this.dy = node.in(2);
            this.dx = node.out(0);
            this.fn = op.fn();
            this.alpha = op.alpha();
            this.beta = op.beta();
            this.a = (float) op.alpha();
            this.b = (float) op.beta();
            this.simd = tune.simd();
        }

        abstract long vector(long from, long to);

        @Override final void span(long from, long to) {
            for (long i = simd ? through(vectorCall, from, to) : from; i < to; i++)
                set(dx, i, (float) UnaryFormulas.unaryGrad(fn, alpha, beta, get(x, i), get(y, i), get(dy, i)));
        }
    }

    private static CpuKernel unaryBackward(UnaryBackward op, CpuNode node, Tuning tune) {
        boolean simd = tune.simd();
        requireSupported(op.fn(), "UnaryBackward");
        int l = S.length();
        return switch (op.fn()) {
            case RELU -> new UnaryGradLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l)
                        store(FloatVector.zero(S).blend(load(dy, i), load(x, i).compare(VectorOperators.GT, 0f)), dx, i);
                    return i;
                }
            };
            case LEAKY_RELU -> new UnaryGradLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) {
                        FloatVector g = load(dy, i);
                        store(g.mul(a).blend(g, load(x, i).compare(VectorOperators.GT, 0f)), dx, i);
                    }
                    return i;
                }
            };
            case ELU -> new UnaryGradLoop(node, op, tune) {       // a e^x = y + a below 0
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) {
                        FloatVector g = load(dy, i);
                        store(g.mul(load(y, i).add(a)).blend(g, load(x, i).compare(VectorOperators.GT, 0f)), dx, i);
                    }
                    return i;
                }
            };
            case SIGMOID -> new UnaryGradLoop(node, op, tune) {   // y (1 - y)
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) {
                        FloatVector v = load(y, i);
                        store(load(dy, i).mul(v).mul(v.neg().add(1f)), dx, i);
                    }
                    return i;
                }
            };
            case TANH -> new UnaryGradLoop(node, op, tune) {      // 1 - y^2
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) {
                        FloatVector v = load(y, i);
                        store(load(dy, i).mul(v.neg().fma(v, FloatVector.broadcast(S, 1f))), dx, i);
                    }
                    return i;
                }
            };
            case SOFTPLUS -> new UnaryGradLoop(node, op, tune) {  // sigmoid(x)
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) store(load(dy, i).mul(VMath.sigmoid(load(x, i))), dx, i);
                    return i;
                }
            };
            case EXP -> new UnaryGradLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) store(load(dy, i).mul(load(y, i)), dx, i);
                    return i;
                }
            };
            case LOG -> new UnaryGradLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) store(load(dy, i).div(load(x, i)), dx, i);
                    return i;
                }
            };
            case SQRT -> new UnaryGradLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) store(load(dy, i).div(load(y, i).mul(2f)), dx, i);
                    return i;
                }
            };
            case SQUARE -> new UnaryGradLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) store(load(x, i).mul(2f).mul(load(dy, i)), dx, i);
                    return i;
                }
            };
            case ABS -> new UnaryGradLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) store(signum(load(x, i)).mul(load(dy, i)), dx, i);
                    return i;
                }
            };
            case NEG -> new UnaryGradLoop(node, op, tune) {
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) store(load(dy, i).neg(), dx, i);
                    return i;
                }
            };
            case SELU -> new UnaryGradLoop(node, op, tune) {      // b above 0, y + b a below
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) {
                        FloatVector g = load(dy, i);
                        store(g.mul(load(y, i).add(a * b)).blend(g.mul(b), load(x, i).compare(VectorOperators.GT, 0f)), dx, i);
                    }
                    return i;
                }
            };
            case HARD_SIGMOID -> new UnaryGradLoop(node, op, tune) { // a inside (0, 1), else 0
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) {
                        FloatVector v = load(x, i).fma(a, b);
                        var inside = v.compare(VectorOperators.GT, 0f).and(v.compare(VectorOperators.LT, 1f));
                        store(FloatVector.zero(S).blend(load(dy, i).mul(a), inside), dx, i);
                    }
                    return i;
                }
            };
            case HARD_SWISH -> new UnaryGradLoop(node, op, tune) {  // 0 below -3, x/3 + 1/2 up to 3, 1 above
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) {
                        FloatVector v = load(x, i), g = load(dy, i);
                        FloatVector mid = g.mul(v.div(3f).add(0.5f));
                        store(mid.blend(g, v.compare(VectorOperators.GT, 3f))
                                .blend(0f, v.compare(VectorOperators.LT, -3f)), dx, i);
                    }
                    return i;
                }
            };
            case SIGN -> new UnaryGradLoop(node, op, tune) {      // piecewise constant
                @Override long vector(long i, long to) {
                    for (; i <= to - l; i += l) store(FloatVector.zero(S), dx, i);
                    return i;
                }
            };
        };
    }

    /** Math.signum per lane: 1 above 0, -1 below, x itself for +-0 and NaN. */
    static FloatVector signum(FloatVector v) {
        return v.blend(1f, v.compare(VectorOperators.GT, 0f)).blend(-1f, v.compare(VectorOperators.LT, 0f));
    }

    // ------------------------------------------------------------------------------------------ Binary

    /**
     * A Binary kernel: each (kind, layout) is its own subclass with one SIMD loop, so that nodes of another kind or
     * broadcast layout never share a compiled row method (one method for all of them was compiled for the first
     * kind seen and ran the others ~7x slower). The layouts: both operands walk the row, or one of them is one
     * element repeated ({@link Rows}).
     */
    private abstract static class BinaryRow extends RowKernel {
        final MemorySegment a, b, y;
        final boolean simd;
        private final Binary.Kind kind;
        private final boolean unitA, unitB;

        BinaryRow(CpuNode node, Rows rows, Binary.Kind kind, Tuning tune) {
            super(node, rows, tune.cheap());
            this.a = node.in(0);
            this.b = node.in(1);
            this.y = node.out(0);
            this.kind = kind;
            this.simd = tune.simd();
            this.unitA = rows.unit[0];
            this.unitB = rows.unit[1];
        }

        /** Elements [t, m) of a row piece in scalar code: one float operation rounds as the reference does. */
        final void tail(long ia, long ib, long at, int t, int m) {
            for (; t < m; t++) set(y, at + t, apply(kind, get(a, unitA ? ia + t : ia), get(b, unitB ? ib + t : ib)));
        }
    }

    private static CpuKernel binary(Binary op, CpuNode node, Tuning tune) {
        Rows rows = Rows.of(node.outShape(0), node.inShape(0), node.inShape(1));
        int l = S.length();
        int layout = rows.unit[0] && rows.unit[1] ? 0 : rows.unit[0] ? 1 : 2;   // 1: b repeats, 2: a repeats
        Binary.Kind k = op.op();
        return switch (k) {
            case ADD -> switch (layout) {
                case 0 -> new BinaryRow(node, rows, k, tune) {
                    @Override void row(int r, int j, long at, int m) {
                        long ia = at(0, r, j), ib = at(1, r, j);
                        int t = 0;
                        if (simd) for (; t <= m - l; t += l) store(load(a, ia + t).add(load(b, ib + t)), y, at + t);
                        tail(ia, ib, at, t, m);
                    }
                };
                case 1 -> new BinaryRow(node, rows, k, tune) {
                    @Override void row(int r, int j, long at, int m) {
                        long ia = at(0, r, j), ib = at(1, r, j);
                        int t = 0;
                        FloatVector vb = FloatVector.broadcast(S, get(b, ib));
                        if (simd) for (; t <= m - l; t += l) store(load(a, ia + t).add(vb), y, at + t);
                        tail(ia, ib, at, t, m);
                    }
                };
                default -> new BinaryRow(node, rows, k, tune) {
                    @Override void row(int r, int j, long at, int m) {
                        long ia = at(0, r, j), ib = at(1, r, j);
                        int t = 0;
                        FloatVector va = FloatVector.broadcast(S, get(a, ia));
                        if (simd) for (; t <= m - l; t += l) store(va.add(load(b, ib + t)), y, at + t);
                        tail(ia, ib, at, t, m);
                    }
                };
            };
            case SUB -> switch (layout) {
                case 0 -> new BinaryRow(node, rows, k, tune) {
                    @Override void row(int r, int j, long at, int m) {
                        long ia = at(0, r, j), ib = at(1, r, j);
                        int t = 0;
                        if (simd) for (; t <= m - l; t += l) store(load(a, ia + t).sub(load(b, ib + t)), y, at + t);
                        tail(ia, ib, at, t, m);
                    }
                };
                case 1 -> new BinaryRow(node, rows, k, tune) {
                    @Override void row(int r, int j, long at, int m) {
                        long ia = at(0, r, j), ib = at(1, r, j);
                        int t = 0;
                        FloatVector vb = FloatVector.broadcast(S, get(b, ib));
                        if (simd) for (; t <= m - l; t += l) store(load(a, ia + t).sub(vb), y, at + t);
                        tail(ia, ib, at, t, m);
                    }
                };
                default -> new BinaryRow(node, rows, k, tune) {
                    @Override void row(int r, int j, long at, int m) {
                        long ia = at(0, r, j), ib = at(1, r, j);
                        int t = 0;
                        FloatVector va = FloatVector.broadcast(S, get(a, ia));
                        if (simd) for (; t <= m - l; t += l) store(va.sub(load(b, ib + t)), y, at + t);
                        tail(ia, ib, at, t, m);
                    }
                };
            };
            case MUL -> switch (layout) {
                case 0 -> new BinaryRow(node, rows, k, tune) {
                    @Override void row(int r, int j, long at, int m) {
                        long ia = at(0, r, j), ib = at(1, r, j);
                        int t = 0;
                        if (simd) for (; t <= m - l; t += l) store(load(a, ia + t).mul(load(b, ib + t)), y, at + t);
                        tail(ia, ib, at, t, m);
                    }
                };
                case 1 -> new BinaryRow(node, rows, k, tune) {
                    @Override void row(int r, int j, long at, int m) {
                        long ia = at(0, r, j), ib = at(1, r, j);
                        int t = 0;
                        FloatVector vb = FloatVector.broadcast(S, get(b, ib));
                        if (simd) for (; t <= m - l; t += l) store(load(a, ia + t).mul(vb), y, at + t);
                        tail(ia, ib, at, t, m);
                    }
                };
                default -> new BinaryRow(node, rows, k, tune) {
                    @Override void row(int r, int j, long at, int m) {
                        long ia = at(0, r, j), ib = at(1, r, j);
                        int t = 0;
                        FloatVector va = FloatVector.broadcast(S, get(a, ia));
                        if (simd) for (; t <= m - l; t += l) store(va.mul(load(b, ib + t)), y, at + t);
                        tail(ia, ib, at, t, m);
                    }
                };
            };
            case DIV -> switch (layout) {
                case 0 -> new BinaryRow(node, rows, k, tune) {
                    @Override void row(int r, int j, long at, int m) {
                        long ia = at(0, r, j), ib = at(1, r, j);
                        int t = 0;
                        if (simd) for (; t <= m - l; t += l) store(load(a, ia + t).div(load(b, ib + t)), y, at + t);
                        tail(ia, ib, at, t, m);
                    }
                };
                case 1 -> new BinaryRow(node, rows, k, tune) {
                    @Override void row(int r, int j, long at, int m) {
                        long ia = at(0, r, j), ib = at(1, r, j);
                        int t = 0;
                        FloatVector vb = FloatVector.broadcast(S, get(b, ib));
                        if (simd) for (; t <= m - l; t += l) store(load(a, ia + t).div(vb), y, at + t);
                        tail(ia, ib, at, t, m);
                    }
                };
                default -> new BinaryRow(node, rows, k, tune) {
                    @Override void row(int r, int j, long at, int m) {
                        long ia = at(0, r, j), ib = at(1, r, j);
                        int t = 0;
                        FloatVector va = FloatVector.broadcast(S, get(a, ia));
                        if (simd) for (; t <= m - l; t += l) store(va.div(load(b, ib + t)), y, at + t);
                        tail(ia, ib, at, t, m);
                    }
                };
            };
            // MAX, MIN and POW (imported models only): the scalar row, one float operation (pow in double) per
            // element, exactly the reference's rounding.
            case MAX, MIN, POW -> new BinaryRow(node, rows, k, tune) {
                @Override void row(int r, int j, long at, int m) {
                    tail(at(0, r, j), at(1, r, j), at, 0, m);
                }
            };
        };
    }

    static float apply(Binary.Kind kind, float a, float b) {
        return switch (kind) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case MAX -> Math.max(a, b);
            case MIN -> Math.min(a, b);
            case POW -> (float) Math.pow(a, b);   // the reference's double pow, rounded: exact to the oracle
        };
    }

    // ------------------------------------------------------------------------------------------ broadcasts

    /** BroadcastTo, and BiasBroadcast as a broadcast of its [C] input laid out as [C, 1, ..., 1]. */
    private static CpuKernel broadcast(CpuNode node, Shape from, Tuning tune) {
        boolean simd = tune.simd();
        MemorySegment x = node.in(0), y = node.out(0);
        Rows rows = Rows.of(node.outShape(0), from);
        boolean unit = rows.unit[0];
        return new RowKernel(node, rows, tune.cheap()) {
            @Override void row(int r, int j, long at, int m) {
                long ix = at(0, r, j);
                if (unit) {
                    MemorySegment.copy(x, ix << 2, y, at << 2, (long) m << 2);
                    return;
                }
                float v = get(x, ix);
                int t = 0;
                if (simd) {
                    FloatVector vv = FloatVector.broadcast(S, v);
                    for (int end = m - S.length(); t <= end; t += S.length()) store(vv, y, at + t);
                }
                for (; t < m; t++) set(y, at + t, v);
            }
        };
    }

    // ------------------------------------------------------------------------------------------ SumTo

    private static CpuKernel sumTo(CpuNode node, Tuning tune) {
        boolean simd = tune.simd();
        MemorySegment x = node.in(0), y = node.out(0);
        Shape in = node.inShape(0), out = node.outShape(0);
        if (in.size() == 0) return ctx -> y.fill((byte) 0);          // an empty sum is 0
        if (out.size() == 1) {
            return new ChunkedSum(node, in.size(), tune.cheap()) {
                @Override double chunk(long from, long to) { return sumRow(x, from, (int) (to - from), simd); }

                @Override void finish(double total) { set(y, 0, (float) total); }
            };
        }
        Groups g = Groups.of(in, out);
        CpuRuntime rt = node.runtime();
        long work = in.size() * tune.cheap();
        if (!g.keep) {
            // Each output element sums its rows, in row order, on one thread.
            CpuRuntime.RangeTask task = (worker, from, to) -> {
                for (int k = from; k < to; k++) {
                    double acc = 0;
                    for (int q = g.start[k]; q < g.start[k + 1]; q++) acc += sumRow(x, (long) g.rowOf[q] * g.len, g.len, simd);
                    set(y, k, (float) acc);
                }
            };
            CpuRuntime.RangeTask run = isolated(task);
            return ctx -> rt.parallelFor(g.count, work, run);
        }
        // Rows add into a slice of len outputs: work items are (slice, column block), accumulated in per-worker
        // double scratch; every output column sums its rows in row order whichever item and thread it falls to.
        int blocks = (g.len + COLUMNS - 1) / COLUMNS;
        double[][] scratch = new double[rt.threads()][Math.min(g.len, COLUMNS)];
        CpuRuntime.RangeTask task = (worker, from, to) -> {
            double[] acc = scratch[worker];
            for (int item = from; item < to; item++) {
                int k = item / blocks, c0 = (item % blocks) * COLUMNS, w = Math.min(COLUMNS, g.len - c0);
                java.util.Arrays.fill(acc, 0, w, 0);
                for (int q = g.start[k]; q < g.start[k + 1]; q++) addRow(acc, x, (long) g.rowOf[q] * g.len + c0, w, simd);
                long o = (long) k * g.len + c0;
                for (int t = 0; t < w; t++) set(y, o + t, (float) acc[t]);
            }
        };
        CpuRuntime.RangeTask run = isolated(task);
        return ctx -> rt.parallelFor(Math.multiplyExact(g.count, blocks), work, run);
    }

    // ------------------------------------------------------------------------------------------ PReLU

    /** The slope laid against x: [] for one shared slope, [C, 1, ..., 1] per channel. */
    private static Shape slopeShape(Shape x, Shape slope) {
        return slope.dim(0) == 1 ? Shape.SCALAR : channelShape(x);
    }

    private static CpuKernel prelu(CpuNode node, Tuning tune) {
        boolean simd = tune.simd();
        MemorySegment x = node.in(0), slope = node.in(1), y = node.out(0);
        Rows rows = Rows.of(node.inShape(0), node.inShape(0), slopeShape(node.inShape(0), node.inShape(1)));
        boolean unit = rows.unit[1];
        return new RowKernel(node, rows, tune.cheap()) {
            @Override void row(int r, int j, long at, int m) {
                long is = at(1, r, j);
                int t = 0;
                if (simd) {
                    FloatVector fixed = FloatVector.broadcast(S, get(slope, is));
                    for (int end = m - S.length(); t <= end; t += S.length()) {
                        FloatVector v = load(x, at + t), k = unit ? load(slope, is + t) : fixed;
                        store(v.mul(k).blend(v, v.compare(VectorOperators.GT, 0f)), y, at + t);
                    }
                }
                for (; t < m; t++) {
                    float v = get(x, at + t);
                    set(y, at + t, v > 0 ? v : get(slope, unit ? is + t : is) * v);
                }
            }
        };
    }

    /**
     * dx = x > 0 ? dy : slope*dy elementwise, and dslope = the sum of x*dy where x <= 0, per slope element: the
     * layout of {@link #sumTo} from x onto the slope, with dx written on the same pass.
     */
    private static CpuKernel preluBackward(CpuNode node, Tuning tune) {
        boolean simd = tune.simd();
        MemorySegment x = node.in(0), slope = node.in(1), dy = node.in(2), dx = node.out(0), ds = node.out(1);
        Shape xs = node.inShape(0), target = slopeShape(xs, node.inShape(1));
        CpuRuntime rt = node.runtime();
        long n = xs.size(), work = n * tune.cheap();
        if (n == 0) return ctx -> ds.fill((byte) 0);
        if (target.size() == 1) {
            return new ChunkedSum(node, n, tune.cheap()) {
                @Override double chunk(long from, long to) {
                    return preluRow(x, dy, dx, from, (int) (to - from), get(slope, 0), simd);
                }

                @Override void finish(double total) { set(ds, 0, (float) total); }
            };
        }
        Groups g = Groups.of(xs, target);
        if (!g.keep) {          // one group per channel: its rows are the H*W runs of that channel
            CpuRuntime.RangeTask task = (worker, from, to) -> {
                for (int k = from; k < to; k++) {
                    double acc = 0;
                    float sk = get(slope, k);
                    for (int q = g.start[k]; q < g.start[k + 1]; q++)
                        acc += preluRow(x, dy, dx, (long) g.rowOf[q] * g.len, g.len, sk, simd);
                    set(ds, k, (float) acc);
                }
            };
            CpuRuntime.RangeTask run = isolated(task);
            return ctx -> rt.parallelFor(g.count, work, run);
        }
        // x is [rows, C] with the slope along the row ([N, C] after a dense layer): column blocks, as in SumTo.
        int blocks = (g.len + COLUMNS - 1) / COLUMNS;
        double[][] scratch = new double[rt.threads()][Math.min(g.len, COLUMNS)];
        CpuRuntime.RangeTask task = (worker, from, to) -> {
            double[] acc = scratch[worker];
            for (int item = from; item < to; item++) {
                int k = item / blocks, c0 = (item % blocks) * COLUMNS, w = Math.min(COLUMNS, g.len - c0);
                long o = (long) k * g.len + c0;
                java.util.Arrays.fill(acc, 0, w, 0);
                for (int q = g.start[k]; q < g.start[k + 1]; q++) {
                    long at = (long) g.rowOf[q] * g.len + c0;
                    for (int t = 0; t < w; t++) {
                        float v = get(x, at + t), gy = get(dy, at + t);
                        if (v > 0) {
                            set(dx, at + t, gy);
                        } else {
                            set(dx, at + t, get(slope, o + t) * gy);
                            acc[t] += (double) v * gy;
                        }
                    }
                }
                for (int t = 0; t < w; t++) set(ds, o + t, (float) acc[t]);
            }
        };
        CpuRuntime.RangeTask run = isolated(task);
        return ctx -> rt.parallelFor(Math.multiplyExact(g.count, blocks), work, run);
    }

    /** dx over [at, at+len) with one slope k; returns the sum of x*dy where x <= 0, in double. */
    private static double preluRow(MemorySegment x, MemorySegment dy, MemorySegment dx, long at, int len, float k,
                                   boolean simd) {
        int t = 0;
        double sum = 0;
        if (simd && len >= S.length()) {
            FloatVector vk = FloatVector.broadcast(S, k), zero = FloatVector.zero(S);
            DoubleVector a0 = DoubleVector.zero(D), a1 = DoubleVector.zero(D);
            for (; t <= len - S.length(); t += S.length()) {
                FloatVector v = load(x, at + t), g = load(dy, at + t);
                VectorMask<Float> pos = v.compare(VectorOperators.GT, 0f);
                store(g.mul(vk).blend(g, pos), dx, at + t);
                FloatVector vm = v.blend(zero, pos), gm = g.blend(zero, pos);   // x*dy is exact in double
                a0 = lo(vm).fma(lo(gm), a0);
                a1 = hi(vm).fma(hi(gm), a1);
            }
            sum = sum(a0.add(a1));
        }
        for (; t < len; t++) {
            float v = get(x, at + t), g = get(dy, at + t);
            if (v > 0) {
                set(dx, at + t, g);
            } else {
                set(dx, at + t, k * g);
                sum += (double) v * g;
            }
        }
        return sum;
    }
}
