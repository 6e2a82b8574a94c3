package dev.stride.engine.cpu;

import dev.stride.engine.Tensor;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.Affine;
import dev.stride.graph.op.BiasBroadcast;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.Broadcast;
import dev.stride.graph.op.BroadcastTo;
import dev.stride.graph.op.Fill;
import dev.stride.graph.op.PRelu;
import dev.stride.graph.op.PReluBackward;
import dev.stride.graph.op.SumTo;
import dev.stride.graph.op.Unary;
import dev.stride.graph.op.UnaryBackward;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The elementwise cpu kernels against the float64 reference ({@link CrossBackend}: forward and gradients, threads 1
 * and 2), bit-identical across thread counts on tensors large enough to be split, and on the scalar path
 * ({@code stride.cpu.simd=false} semantics) in this JVM ({@link KernelRuns}).
 */
class ElementwiseKernelsTest {
    /** Every op with a kernel in ElementwiseKernels: none of them may run on the reference fallback in these tests. */
    static final Class<?>[] MINE = {Unary.class, UnaryBackward.class, Binary.class, Affine.class, Fill.class,
            BroadcastTo.class, SumTo.class, BiasBroadcast.class, PRelu.class, PReluBackward.class};

    private static CrossBackend.Options options(String tol, int threads) {
        return CrossBackend.Options.forward(tol, MINE).withThreads(threads);
    }

    /** Random dims in [1, max], a size 1 now and then. */
    static int[] dims(Random r, int rank, int max) {
        int[] d = new int[rank];
        for (int i = 0; i < rank; i++) d[i] = r.nextInt(5) == 0 ? 1 : 1 + r.nextInt(max);
        return d;
    }

    /** A shape that broadcasts to {@code out}: a suffix of it, some dimensions replaced by 1. */
    static Shape broadcastable(Random r, Shape out) {
        int rank = r.nextInt(5) == 0 ? 0 : r.nextInt(out.rank() + 1);
        int[] d = new int[rank];
        for (int i = 0; i < rank; i++) {
            int od = out.dim(out.rank() - rank + i);
            d[i] = r.nextInt(3) == 0 ? 1 : od;
        }
        return Shape.of(d);
    }

    /** Uniform values in [lo, hi], float-rounded, with a random sign when {@code signed}. */
    static Tensor values(Shape s, long seed, double lo, double hi, boolean signed) {
        Random r = new Random(seed);
        Tensor t = Tensor.zeros(DType.F64, s);
        for (long i = 0; i < t.size(); i++) {
            double v = lo + (hi - lo) * r.nextDouble();
            t.set(i, (float) (signed && r.nextBoolean() ? -v : v));
        }
        return t;
    }

    // ------------------------------------------------------------------------------------------ Unary

    @Property(tries = 80)
    void unaryAndItsGradientMatchTheReference(@ForAll Unary.Fn fn, @ForAll @IntRange(min = 0, max = 4) int rank,
                                              @ForAll @IntRange(min = 1, max = 2) int threads, @ForAll long seed) {
        Random r = new Random(seed);
        Shape s = Shape.of(dims(r, rank, 13));
        double alpha = 0.05 + r.nextDouble() * 1.5;
        var o = options("elementwise", threads).withGradients(0);
        if (fn == Unary.Fn.LOG || fn == Unary.Fn.SQRT) o = o.withInput(0, values(s, seed, 0.05, 2, false));
        CrossBackend.check(List.of(s), (b, x) -> List.of(b.apply("f", new Unary(fn, alpha), x.getFirst())), seed, o);
    }

    @Test
    void unaryCoversEveryFunctionOfTheEnum() {
        assertEquals(Arrays.asList(Unary.Fn.values()), List.copyOf(ElementwiseKernels.UNARY),
                "a Unary function without cpu code: add its vector and scalar forms to ElementwiseKernels");
    }

    @Property(tries = 20)
    void unaryAtSaturatingInputs(@ForAll Unary.Fn fn, @ForAll long seed) {
        // Far from 0 (up to e^80, near float's largest): sigmoid and tanh saturate, softplus is x or e^x.
        Shape s = Shape.of(3, 23);
        Tensor x = values(s, seed, 5, 80, fn != Unary.Fn.LOG && fn != Unary.Fn.SQRT);
        CrossBackend.check(List.of(s), (b, v) -> List.of(b.apply("f", new Unary(fn, 0.3), v.getFirst())), seed,
                options("elementwise", 1).withInput(0, x));
    }

    // ------------------------------------------------------------------------------------------ Binary

    @Property(tries = 100)
    void binaryOverBroadcastShapesAndItsGradients(@ForAll Binary.Kind kind,
                                                  @ForAll @IntRange(min = 0, max = 4) int rank,
                                                  @ForAll @IntRange(min = 1, max = 2) int threads,
                                                  @ForAll boolean swap, @ForAll long seed) {
        Random r = new Random(seed);
        Shape out = Shape.of(dims(r, rank, 11));
        Shape a = out, c = broadcastable(r, out);
        if (swap) { Shape t = a; a = c; c = t; }
        Shape aa = a, cc = c;
        BiFunction<GraphBuilder, List<Value>, List<Value>> f =
                (b, x) -> List.of(b.apply("op", new Binary(kind), x.get(0), x.get(1)));
        var fwd = options("elementwise", threads);
        // Gradients of a broadcast operand are sums over the repeated dimensions.
        var grad = options("reduction", threads).withGradients(0, 1);
        if (kind == Binary.Kind.DIV) {   // divisors away from 0, or the quotient's rounding error explodes
            fwd = fwd.withInput(1, values(c, seed, 0.5, 1.5, true));
            grad = grad.withInput(1, values(c, seed, 0.5, 1.5, true));
        }
        CrossBackend.check(List.of(aa, cc), f, seed, fwd);
        CrossBackend.check(List.of(aa, cc), f, seed, grad);
    }

    @Test
    void broadcastLayoutsTakeTheirFastPaths() {
        // Same shape: one row, both operands walk it.
        var same = ElementwiseKernels.Rows.of(Shape.of(2, 3, 5, 7), Shape.of(2, 3, 5, 7), Shape.of(2, 3, 5, 7));
        assertEquals(1, same.rows);
        assertEquals(210, same.len);
        // A scalar operand: one row, the scalar repeated.
        var scalar = ElementwiseKernels.Rows.of(Shape.of(4, 9), Shape.of(4, 9), Shape.SCALAR);
        assertEquals(1, scalar.rows);
        assertFalse(scalar.unit[1]);
        // Per channel [N,C,H,W] op [C,1,1]: N*C rows of H*W, one element of the second operand per row.
        var channel = ElementwiseKernels.Rows.of(Shape.of(2, 3, 5, 7), Shape.of(2, 3, 5, 7), Shape.of(3, 1, 1));
        assertEquals(6, channel.rows);
        assertEquals(35, channel.len);
        assertFalse(channel.unit[1]);
        assertArrayEquals(new int[] {0, 1, 2, 0, 1, 2}, channel.offset[1]);
        assertArrayEquals(new int[] {0, 35, 70, 105, 140, 175}, channel.offset[0]);
        // Row broadcast [N,C] op [C]: N rows of C, both walking.
        var row = ElementwiseKernels.Rows.of(Shape.of(4, 10), Shape.of(4, 10), Shape.of(10));
        assertEquals(4, row.rows);
        assertTrue(row.unit[0] && row.unit[1]);
        assertArrayEquals(new int[] {0, 0, 0, 0}, row.offset[1]);
        // Outer product [3,1] op [1,4]: rows of 4, the first operand repeated.
        var outer = ElementwiseKernels.Rows.of(Shape.of(3, 4), Shape.of(3, 1), Shape.of(1, 4));
        assertEquals(3, outer.rows);
        assertArrayEquals(new int[] {0, 1, 2}, outer.offset[0]);
        assertFalse(outer.unit[0]);
    }

    @Test
    void reductionLayoutsGroupRowsByOutput() {
        // Bias gradient [N,C,H,W] -> [C,1,1]: one group per channel, its rows the H*W runs in batch order.
        var g = ElementwiseKernels.Groups.of(Shape.of(2, 3, 4, 5), Shape.of(3, 1, 1));
        assertFalse(g.keep);
        assertEquals(3, g.count);
        assertEquals(20, g.len);
        assertArrayEquals(new int[] {0, 2, 4, 6}, g.start);
        assertArrayEquals(new int[] {0, 3, 1, 4, 2, 5}, g.rowOf);
        // [N,C] -> [C]: one slice of C columns gathering every row.
        var k = ElementwiseKernels.Groups.of(Shape.of(6, 10), Shape.of(10));
        assertTrue(k.keep);
        assertEquals(1, k.count);
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5}, k.rowOf);
    }

    // ------------------------------------------------------------------------------------------ broadcasts, sums

    @Property(tries = 60)
    void broadcastToAndSumToMatchTheReference(@ForAll @IntRange(min = 0, max = 4) int rank,
                                             @ForAll @IntRange(min = 1, max = 2) int threads, @ForAll long seed) {
        Random r = new Random(seed);
        Shape big = Shape.of(dims(r, rank, 12)), small = broadcastable(r, big);
        CrossBackend.check(List.of(small),
                (b, x) -> List.of(b.apply("bc", new BroadcastTo(big.dims()), x.getFirst())), seed,
                options("reduction", threads).withGradients(0));
        CrossBackend.check(List.of(big),
                (b, x) -> List.of(b.apply("sum", new SumTo(small.dims()), x.getFirst())), seed,
                options("reduction", threads).withGradients(0));
    }

    @Property(tries = 30)
    void fillAndBiasBroadcastMatchTheReference(@ForAll @IntRange(min = 2, max = 4) int rank, @ForAll long seed) {
        Random r = new Random(seed);
        int[] d = dims(r, rank, 10);
        double v = r.nextGaussian();
        CrossBackend.check(List.of(Shape.of(d[1])), (b, x) -> List.of(
                        b.apply("fill", new Fill(d, v)),
                        b.apply("bias", new BiasBroadcast(d), x.getFirst())), seed,
                options("elementwise", 1).withGradients(0));
    }

    // ------------------------------------------------------------------------------------------ PReLU

    @Property(tries = 60)
    void preluAndItsGradientsMatchTheReference(@ForAll @IntRange(min = 1, max = 4) int rank,
                                               @ForAll boolean perChannel,
                                               @ForAll @IntRange(min = 1, max = 2) int threads, @ForAll long seed) {
        Random r = new Random(seed);
        Shape x = Shape.of(dims(r, rank, 12));
        Shape slope = Shape.of(perChannel && rank >= 2 ? x.dim(1) : 1);
        CrossBackend.check(List.of(x, slope), (b, v) -> List.of(b.apply("prelu", new PRelu(), v.get(0), v.get(1))),
                seed, options("reduction", threads).withGradients(0, 1));
    }

    @Test
    void emptyTensorsRunAndTheirSumsAreZero() {
        // [0, 3] op [3]: nothing to compute forward; the gradients of the [3] operands are sums over no rows.
        CrossBackend.check(List.of(Shape.of(0, 3), Shape.of(3)), (b, x) -> List.of(
                        b.add(x.get(0), x.get(1)), b.tanh(x.get(0)), b.prelu(x.get(0), x.get(1)),
                        b.apply("s", new SumTo(new int[] {3}), x.get(0)),
                        b.apply("fill", new Fill(new int[] {2, 0}, 1))), 1,
                options("elementwise", 2).withGradients(0, 1));
    }

    // ------------------------------------------------------------------------------------------ threads

    /** Graphs over tensors of several blocks and chunks, each with its gradients. */
    static List<Case> largeCases() {
        Shape act = Shape.of(3, 6, 31, 37);       // 20646 elements: 6 blocks, 2 chunks, not a multiple of either
        return List.of(
                new Case("relu", List.of(act), (b, x) -> List.of(b.relu(x.getFirst())), 0),
                new Case("tanh", List.of(act), (b, x) -> List.of(b.tanh(x.getFirst())), 0),
                new Case("softplus", List.of(act), (b, x) -> List.of(b.softplus(x.getFirst())), 0),
                new Case("add", List.of(act, act), (b, x) -> List.of(b.add(x.get(0), x.get(1))), 0, 1),
                new Case("channel mul", List.of(act, Shape.of(6, 1, 1)),
                        (b, x) -> List.of(b.mul(x.get(0), x.get(1))), 0, 1),
                new Case("row div", List.of(act, Shape.of(37)), (b, x) -> List.of(b.div(x.get(0),
                        b.affine(b.abs(x.get(1)), 1, 0.5))), 0, 1),
                new Case("scalar sub", List.of(Shape.SCALAR, act), (b, x) -> List.of(b.sub(x.get(0), x.get(1))), 0, 1),
                new Case("sum columns", List.of(Shape.of(400, 107)),
                        (b, x) -> List.of(b.apply("s", new SumTo(new int[] {107}), x.getFirst())), 0),
                new Case("sum all", List.of(Shape.of(3, 14011)),   // 3 chunks
                        (b, x) -> List.of(b.apply("s", new SumTo(new int[0]), x.getFirst())), 0),
                new Case("sum channels", List.of(act),
                        (b, x) -> List.of(b.apply("s", new SumTo(new int[] {6, 1, 1}), x.getFirst())), 0),
                new Case("sum batch", List.of(Shape.of(5, 3, 2709)),
                        (b, x) -> List.of(b.apply("s", new SumTo(new int[] {3, 2709}), x.getFirst())), 0),
                new Case("sum mixed", List.of(act),
                        (b, x) -> List.of(b.apply("s", new SumTo(new int[] {3, 1, 31, 1}), x.getFirst())), 0),
                new Case("prelu channel", List.of(act, Shape.of(6)),
                        (b, x) -> List.of(b.prelu(x.get(0), x.get(1))), 0, 1),
                new Case("prelu shared", List.of(act, Shape.of(1)),
                        (b, x) -> List.of(b.prelu(x.get(0), x.get(1))), 0, 1),
                new Case("prelu dense", List.of(Shape.of(400, 107), Shape.of(107)),
                        (b, x) -> List.of(b.prelu(x.get(0), x.get(1))), 0, 1),
                new Case("bias broadcast", List.of(Shape.of(6)),
                        (b, x) -> List.of(b.apply("bias", new BiasBroadcast(act.dims()), x.getFirst())), 0));
    }

    record Case(String name, List<Shape> shapes, BiFunction<GraphBuilder, List<Value>, List<Value>> f, int... grads) {}

    @Test
    void splitLoopsGiveTheSameBitsOnOneTwoAndThreeThreads() {
        for (Case c : largeCases()) {
            Graph g = KernelRuns.graph(DType.F32, c.shapes(), c.f(), c.grads());
            Map<String, Tensor> feeds = KernelRuns.feeds(g, 7, Map.of());
            Map<String, Tensor> one = KernelRuns.program(g, KernelRuns.SPLIT, 1, feeds);
            KernelRuns.assertBitEqual(KernelRuns.program(g, KernelRuns.SPLIT, 2, feeds), one, c.name() + ", 2 threads");
            KernelRuns.assertBitEqual(KernelRuns.program(g, KernelRuns.SPLIT, 3, feeds), one, c.name() + ", 3 threads");
            Graph ref = KernelRuns.graph(DType.F64, c.shapes(), c.f(), c.grads());
            KernelRuns.assertClose(one, KernelRuns.session(ref, "reference", 1, feeds), "reduction", c.name());
        }
    }

    // ------------------------------------------------------------------------------------------ scalar path

    @Property(tries = 40)
    void theScalarPathMatchesTheReference(@ForAll Unary.Fn fn, @ForAll Binary.Kind kind,
                                                        @ForAll @IntRange(min = 1, max = 2) int threads,
                                                        @ForAll long seed) {
        Random r = new Random(seed);
        Shape a = Shape.of(dims(r, 1 + r.nextInt(3), 19)), c = broadcastable(r, a);
        boolean positive = fn == Unary.Fn.LOG || fn == Unary.Fn.SQRT;
        Shape y = Broadcast.shape(a, c);
        Shape slope = Shape.of(a.rank() >= 2 ? a.dim(1) : 1);
        BiFunction<GraphBuilder, List<Value>, List<Value>> f = (b, x) -> List.of(
                b.apply("f", new Unary(fn, 0.7), x.get(0)),
                b.apply("op", new Binary(kind), x.get(0), x.get(1)),
                b.apply("sum", new SumTo(c.dims()), b.apply("bc", new BroadcastTo(y.dims()), x.get(0))),
                b.apply("prelu", new PRelu(), x.get(0), x.get(2)));
        Graph g32 = KernelRuns.graph(DType.F32, List.of(a, c, slope), f, 0, 1, 2);
        Graph g64 = KernelRuns.graph(DType.F64, List.of(a, c, slope), f, 0, 1, 2);
        Map<String, Tensor> fixed = new java.util.HashMap<>();
        if (positive) fixed.put("x0", values(a, seed, 0.05, 2, false));
        if (kind == Binary.Kind.DIV) fixed.put("x1", values(c, seed + 1, 0.5, 1.5, true));
        Map<String, Tensor> feeds = KernelRuns.feeds(g32, seed, fixed);
        Map<String, Tensor> want = KernelRuns.session(g64, "reference", 1, feeds);
        Map<String, Tensor> scalar = KernelRuns.program(g32, KernelRuns.SCALAR, threads, feeds);
        KernelRuns.assertClose(scalar, want, "reduction", "scalar path");
        // The scalar path evaluates the reference's formula in double and rounds once: the float reference's bits.
        Map<String, Tensor> ref32 = KernelRuns.session(g32, "reference", 1, feeds);
        KernelRuns.assertBitEqual(Map.of("out0", scalar.get("out0"), "out1", scalar.get("out1")),
                Map.of("out0", ref32.get("out0"), "out1", ref32.get("out1")), "scalar Unary and Binary");
    }
}
