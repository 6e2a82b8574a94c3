package dev.stride.graph;

import dev.stride.graph.op.Dense;
import dev.stride.graph.op.LogSoftmaxBackward;
import dev.stride.graph.op.MatMul;
import dev.stride.graph.op.PRelu;
import dev.stride.graph.op.PReluBackward;
import dev.stride.graph.op.ReduceMean;
import dev.stride.graph.op.ReduceSum;
import dev.stride.graph.op.Reshape;
import dev.stride.graph.op.Softmax;
import dev.stride.graph.op.SoftmaxBackward;
import dev.stride.graph.op.Unary;
import dev.stride.graph.op.UnaryBackward;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shape rules of the tensor op family, valid and invalid, through the builder DSL and the ops themselves. */
class TensorShapeTest {
    private static GraphBuilder builder() { return new GraphBuilder(DType.F32, true); }

    private static void assertMessage(Throwable e, String... parts) {
        for (String p : parts) assertTrue(e.getMessage().contains(p), "expected '" + p + "' in: " + e.getMessage());
    }

    @Provide
    Arbitrary<List<Integer>> dims() { return Arbitraries.integers().between(1, 5).list().ofMinSize(0).ofMaxSize(4); }

    private static int[] arr(List<Integer> l) { return l.stream().mapToInt(Integer::intValue).toArray(); }

    // ---- elementwise ----

    @Property(tries = 30)
    void unaryKeepsShape(@ForAll Unary.Fn fn, @ForAll("dims") List<Integer> dims) {
        var b = builder();
        Value x = b.input("x", arr(dims));
        Value y = b.apply("f", new Unary(fn, 0.1), x);
        assertEquals(x.shape(), y.shape());
        assertEquals(fn.title(), new Unary(fn, 0.1).kind());
    }

    @Test
    void unaryRejectsNonFiniteAlphaAndMismatchedBackwardInputs() {
        var b = builder();
        Value x = b.input("x", 2, 3);
        assertMessage(assertThrows(GraphException.class, () -> b.elu(x, Double.NaN)), "node 'elu'", "alpha = NaN must be finite");
        Value z = b.input("z", 3, 2);
        assertMessage(assertThrows(GraphException.class, () -> b.apply("g", new UnaryBackward(Unary.Fn.TANH, 0), x, x, z)),
                "x, y and dy must have the same shape", "[2, 3], [2, 3], [3, 2]");
        assertEquals("LeakyReluBackward", new UnaryBackward(Unary.Fn.LEAKY_RELU, 0.1).kind());
    }

    // ---- PReLU ----

    @Property(tries = 20)
    void preluCreatesSlopeOfChannelsOrOne(@ForAll @IntRange(min = 1, max = 4) int n, @ForAll @IntRange(min = 1, max = 6) int c,
                                          @ForAll @IntRange(min = 1, max = 5) int h, @ForAll boolean perChannel) {
        var b = builder();
        Value x = b.input("x", n, c, h, h);
        Value y = b.prelu("act", x, perChannel);
        assertEquals(x.shape(), y.shape());
        Value slope = b.value("act/slope");
        assertEquals(Shape.of(perChannel ? c : 1), slope.shape());
        Graph g = b.output("y", y).build();
        assertEquals(Init.constant(0.25), g.inits().get(slope));
        // Gradient kernel: dx has x's shape, dslope the slope's.
        assertEquals(List.of(x.shape(), slope.shape()), new PReluBackward().inferShapes(List.of(x.shape(), slope.shape(), x.shape())));
    }

    @Test
    void preluRejectsSlopeOfWrongLength() {
        var b = builder();
        Value x = b.input("x", 2, 3, 4);
        Value s = b.input("s", 4);
        assertMessage(assertThrows(GraphException.class, () -> b.prelu(x, s)),
                "per-channel slope length 4 must equal the channel count x.dim(1) = 3");
        Value s2 = b.input("s2", 1, 3);
        assertMessage(assertThrows(GraphException.class, () -> b.prelu(x, s2)), "slope must have rank 1");
        Value v = b.input("v", 3);
        assertMessage(assertThrows(GraphException.class, () -> b.prelu("p", v, true)), "needs x of rank >= 2");
        assertMessage(assertThrows(ShapeException.class,
                        () -> new PRelu().inferShapes(List.of(Shape.of(5), Shape.of(5)))), "needs x of rank >= 2");
    }

    // ---- softmax ----

    @Property(tries = 40)
    void softmaxAxisMustBeInRange(@ForAll("dims") List<Integer> dims, @ForAll @IntRange(min = -6, max = 6) int axis) {
        var b = builder();
        Value x = b.input("x", arr(dims));
        int r = dims.size();
        if (axis >= -r && axis < r) {
            assertEquals(x.shape(), b.softmax(x, axis).shape());
            assertEquals(x.shape(), b.logSoftmax(x, axis).shape());
            assertEquals(List.of(x.shape()), new SoftmaxBackward(axis).inferShapes(List.of(x.shape(), x.shape())));
            assertEquals(List.of(x.shape()), new LogSoftmaxBackward(axis).inferShapes(List.of(x.shape(), x.shape())));
        } else {
            var e = assertThrows(GraphException.class, () -> b.softmax(x, axis));
            assertMessage(e, "node 'softmax'", r == 0 ? "a scalar (rank 0) has no axes"
                    : "axis " + axis + " out of range for rank " + r + ": must be in [" + -r + ", " + (r - 1) + "]");
            assertThrows(GraphException.class, () -> b.logSoftmax(x, axis));
        }
    }

    @Test
    void softmaxBackwardNeedsEqualShapes() {
        assertMessage(assertThrows(ShapeException.class,
                () -> new SoftmaxBackward(0).inferShapes(List.of(Shape.of(2, 3), Shape.of(3, 2)))),
                "dy [3, 2] must have the shape of y [2, 3]");
    }

    // ---- matmul and dense ----

    @Property(tries = 60)
    void matmulShapeFollowsTransposes(@ForAll @IntRange(min = 1, max = 7) int m, @ForAll @IntRange(min = 1, max = 7) int k,
                                      @ForAll @IntRange(min = 1, max = 7) int n, @ForAll @IntRange(min = 0, max = 3) int batch,
                                      @ForAll boolean ta, @ForAll boolean tb) {
        var b = builder();
        int[] ad = ta ? new int[] {k, m} : new int[] {m, k};
        int[] bd = tb ? new int[] {n, k} : new int[] {k, n};
        Value x = b.input("a", batch == 0 ? ad : new int[] {batch, ad[0], ad[1]});
        Value y = b.input("b", batch == 0 ? bd : new int[] {batch, bd[0], bd[1]});
        Value c = b.matmul(x, y, ta, tb);
        assertEquals(batch == 0 ? Shape.of(m, n) : Shape.of(batch, m, n), c.shape());
        Node node = b.build0().producer(c);
        assertEquals(2L * Math.max(batch, 1) * m * n * k, node.op().flops(node.inputShapes(), node.outputShapes()));
    }

    @Property(tries = 40)
    void matmulInnerMismatchNamesBothDims(@ForAll @IntRange(min = 1, max = 7) int m, @ForAll @IntRange(min = 1, max = 7) int k,
                                          @ForAll @IntRange(min = 1, max = 7) int k2, @ForAll @IntRange(min = 1, max = 7) int n,
                                          @ForAll boolean ta, @ForAll boolean tb) {
        Assume.that(k != k2);
        var b = builder();
        Value x = b.input("a", ta ? new int[] {k, m} : new int[] {m, k});
        Value y = b.input("b", tb ? new int[] {n, k2} : new int[] {k2, n});
        var e = assertThrows(GraphException.class, () -> b.matmul(x, y, ta, tb));
        assertMessage(e, "node 'matmul'", "inner dimensions differ: columns of op(A) = " + k, "rows of op(B) = " + k2,
                "transA=" + ta, "transB=" + tb);
    }

    @Test
    void matmulRejectsBadRanksAndBatches() {
        var b = builder();
        Value a2 = b.input("a2", 2, 3), a3 = b.input("a3", 4, 2, 3), b3 = b.input("b3", 5, 3, 2), a1 = b.input("a1", 3);
        assertMessage(assertThrows(GraphException.class, () -> b.matmul(a2, b3)), "must have the same rank");
        assertMessage(assertThrows(GraphException.class, () -> b.matmul(a3, b3)), "batch dimensions differ: A.dim(0) = 4, B.dim(0) = 5");
        assertMessage(assertThrows(GraphException.class, () -> b.matmul(a1, a1)), "A must have rank 2 or 3, got [3]");
        // Gram matrix of features [N, C, HW]: [N, C, C].
        Value f = b.input("f", 2, 8, 25);
        assertEquals(Shape.of(2, 8, 8), b.matmul(f, f, false, true).shape());
    }

    @Property(tries = 30)
    void denseMakesParamsInLinearLayout(@ForAll @IntRange(min = 1, max = 9) int n, @ForAll @IntRange(min = 1, max = 9) int k,
                                        @ForAll @IntRange(min = 1, max = 9) int m, @ForAll boolean bias) {
        var b = builder();
        Value x = b.input("x", n, k);
        Value y = b.dense("fc", x, m, bias);
        assertEquals(Shape.of(n, m), y.shape());
        assertEquals(Shape.of(m, k), b.value("fc/weight").shape());
        Graph g = b.output("y", y).build();
        assertEquals(Init.kaimingNormal(), g.inits().get(b.value("fc/weight")));
        if (bias) {
            assertEquals(Shape.of(m), b.value("fc/bias").shape());
            assertEquals(Init.zeros(), g.inits().get(b.value("fc/bias")));
        } else {
            assertThrows(IllegalArgumentException.class, () -> b.value("fc/bias"));
        }
        Node node = g.producer(y);
        assertEquals(2L * n * m * k, node.op().flops(node.inputShapes(), node.outputShapes()));
    }

    @Test
    void denseRejectsMismatchedFeaturesAndBias() {
        var b = builder();
        Value x = b.input("x", 4, 10), w = b.input("w", 3, 9), w2 = b.input("w2", 3, 10), bias = b.input("bias", 4);
        assertMessage(assertThrows(GraphException.class, () -> b.dense(x, w, null)),
                "input features differ: x.dim(1) = 10", "w.dim(1) = 9");
        assertMessage(assertThrows(GraphException.class, () -> b.dense(x, w2, bias)), "bias must have shape [M] = [3]");
        Value img = b.input("img", 4, 1, 2, 5);
        assertMessage(assertThrows(GraphException.class, () -> b.dense("fc", img, 3)), "flatten it first");
        assertMessage(assertThrows(ShapeException.class, () -> new Dense().inferShapes(List.of(Shape.of(4, 1, 2, 5), Shape.of(3, 10)))),
                "x must have rank 2");
    }

    // ---- reshape and flatten ----

    @Property(tries = 40)
    void reshapeResolvesMinusOneAndZero(@ForAll @IntRange(min = 1, max = 5) int a, @ForAll @IntRange(min = 1, max = 5) int c,
                                        @ForAll @IntRange(min = 1, max = 5) int h) {
        var b = builder();
        Value x = b.input("x", a, c, h, h);
        assertEquals(Shape.of(a, c * h * h), b.reshape(x, 0, -1).shape());
        assertEquals(Shape.of(a * c, h * h), b.reshape(x, -1, h * h).shape());
        assertEquals(Shape.of(a, c, h * h), b.reshape(x, 0, 0, -1).shape());
        assertEquals(Shape.of(a, c * h * h), b.flatten(x).shape());
        Value r = b.reshape(x, h, h, c, a);
        Node node = b.build0().producer(r);
        assertEquals(new Reshape(new int[] {h, h, c, a}).inferShapes(List.of(x.shape())), node.outputShapes());
    }

    @Property(tries = 30)
    void reshapeSizeMismatchIsReported(@ForAll @IntRange(min = 1, max = 6) int a, @ForAll @IntRange(min = 1, max = 6) int c,
                                       @ForAll @IntRange(min = 1, max = 6) int p, @ForAll @IntRange(min = 1, max = 6) int q) {
        Assume.that(a * c != p * q);
        var b = builder();
        Value x = b.input("x", a, c);
        var e = assertThrows(GraphException.class, () -> b.reshape(x, p, q));
        assertMessage(e, "node 'reshape'", "reshape to [" + p + ", " + q + "] holds " + p * q + " elements, the input ["
                + a + ", " + c + "] holds " + a * c);
    }

    @Test
    void reshapeRejectsAmbiguousOrIndivisibleDims() {
        var b = builder();
        Value x = b.input("x", 2, 3);
        assertMessage(assertThrows(GraphException.class, () -> b.reshape(x, -1, -1)), "at most one -1");
        assertMessage(assertThrows(GraphException.class, () -> b.reshape(x, 4, -1)),
                "6 elements do not divide into the other dimensions' product 4");
        assertMessage(assertThrows(GraphException.class, () -> b.reshape(x, 1, 1, 0)), "0 at position 2", "rank 2");
        assertMessage(assertThrows(GraphException.class, () -> b.reshape(x, -2, -3)), "dimension -2 must be >= 0");
        assertMessage(assertThrows(ShapeException.class, () -> new Reshape(new int[] {-1, 6}).inferShapes(List.of(Shape.of(6)))),
                "must be >= 0");
        Value s = b.input("s");
        assertMessage(assertThrows(GraphException.class, () -> b.flatten(s)), "flatten needs rank >= 1");
        assertEquals(Shape.of(1, 1, 1), b.reshape(s, 1, -1, 1).shape());
    }

    // ---- reductions ----

    @Property(tries = 60)
    void reductionShapeRemovesOrKeepsAxes(@ForAll("dims") List<Integer> dims, @ForAll @Size(max = 4) Set<@IntRange(min = 0, max = 3) Integer> picks,
                                          @ForAll boolean negative, @ForAll boolean keepDims, @ForAll boolean mean) {
        int r = dims.size();
        Set<Integer> axes = new TreeSet<>();
        for (int p : picks) if (p < r) axes.add(p);
        Assume.that(!axes.isEmpty());
        int[] ax = axes.stream().mapToInt(a -> negative ? a - r : a).toArray();
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < r; i++) {
            if (!axes.contains(i)) expected.add(dims.get(i));
            else if (keepDims) expected.add(1);
        }
        var b = builder();
        Value x = b.input("x", arr(dims));
        Value y = mean ? b.reduceMean(x, keepDims, ax) : b.reduceSum(x, keepDims, ax);
        assertEquals(Shape.of(arr(expected)), y.shape());
    }

    @Property(tries = 20)
    void allAxesReduceToScalar(@ForAll("dims") List<Integer> dims) {
        var b = builder();
        Value x = b.input("x", arr(dims));
        assertEquals(Shape.SCALAR, b.sumAll(x).shape());
        assertEquals(Shape.SCALAR, b.meanAll(x).shape());
        assertEquals(Shape.SCALAR, b.reduceSum(x, false).shape());      // no axes: every axis
        int[] ones = new int[dims.size()];
        java.util.Arrays.fill(ones, 1);
        assertEquals(Shape.of(ones), b.reduceMean(x, true).shape());
    }

    @Test
    void reductionRejectsBadOrRepeatedAxes() {
        var b = builder();
        Value x = b.input("x", 2, 3, 4);
        assertMessage(assertThrows(GraphException.class, () -> b.reduceSum(x, false, 3)),
                "node 'reduce_sum'", "axis 3 out of range for rank 3: must be in [-3, 2]");
        assertMessage(assertThrows(GraphException.class, () -> b.reduceMean(x, true, -4)), "axis -4 out of range");
        assertMessage(assertThrows(GraphException.class, () -> b.reduceSum(x, false, 1, -2)), "axis 1 named twice");
        assertEquals(List.of(Shape.of(2, 3, 4)), new ReduceSum(new int[0], false).inferShapes(List.of(Shape.of(2, 3, 4))));
        assertEquals(List.of(Shape.of(3)), new ReduceMean(new int[] {0, 2}, false).inferShapes(List.of(Shape.of(2, 3, 4))));
    }

    @Test
    void matmulGradientsHaveInputShapesForEveryFlagCombination() {
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true}) {
                var b = builder();
                Value a = b.input("a", ta ? new int[] {2, 5, 3} : new int[] {2, 3, 5});
                Value c = b.input("c", tb ? new int[] {2, 4, 5} : new int[] {2, 5, 4});
                Value loss = b.sumAll(b.matmul(a, c, ta, tb));
                var grads = Autodiff.gradients(b, loss, List.of(a, c));   // Autodiff checks every gradient's shape
                assertEquals(a.shape(), grads.get(a).shape());
                assertEquals(c.shape(), grads.get(c).shape());
            }
    }

    @Test
    void softmaxNormalizesNegativeAxis() {
        assertEquals(2, Softmax.normalizeAxis(-1, Shape.of(2, 3, 4)));
        assertEquals(0, Softmax.normalizeAxis(-3, Shape.of(2, 3, 4)));
    }
}
