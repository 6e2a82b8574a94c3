package dev.stride.graph;

import dev.stride.graph.op.Binary;
import dev.stride.graph.op.BinaryBackward;
import dev.stride.graph.op.Clip;
import dev.stride.graph.op.GatherBackward;
import dev.stride.graph.op.InstanceNorm2d;
import dev.stride.graph.op.InstanceNorm2dBackward;
import dev.stride.graph.op.Lrn;
import dev.stride.graph.op.Pad;
import dev.stride.graph.op.PadBackward;
import dev.stride.graph.op.ReduceMaxBackward;
import dev.stride.graph.op.Resize2d;
import dev.stride.graph.op.Resize2dBackward;
import dev.stride.graph.op.SumTo;
import dev.stride.graph.op.Transpose;
import dev.stride.graph.op.Unary;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.statistics.Statistics;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Shape rules of the ops added for ONNX import, valid and invalid, against closed forms written out here; every
 * valid case also builds the backward graph, where Autodiff checks each gradient has its input's shape.
 */
class OnnxShapeTest {
    private static GraphBuilder builder() { return new GraphBuilder(DType.F64, true); }

    private static GraphException fails(Function<GraphBuilder, Value> f) {
        return assertThrows(GraphException.class, () -> f.apply(builder()));
    }

    private static void assertMentions(Throwable e, String... parts) {
        for (String p : parts) assertTrue(e.getMessage().contains(p), () -> "expected '" + p + "' in: " + e.getMessage());
    }

    /** Autodiff of sum(y) with respect to {@code xs}: every backward op's shape rule runs. */
    private static void assertGradientShapes(GraphBuilder b, Value y, Value... xs) {
        Value loss = b.apply("loss", new SumTo(new int[0]), y);
        var grads = Autodiff.gradients(b, loss, List.of(xs));
        for (Value x : xs) assertEquals(x.shape(), grads.get(x).shape());
    }

    @Provide
    Arbitrary<List<Integer>> dims() { return Arbitraries.integers().between(1, 4).list().ofMinSize(0).ofMaxSize(4); }

    private static int[] arr(List<Integer> l) { return l.stream().mapToInt(Integer::intValue).toArray(); }

    // ---- transpose ----

    @Property(tries = 60)
    void transposePermutesDimensions(@ForAll("dims") List<Integer> dims, @ForAll long seed) {
        int r = dims.size();
        List<Integer> perm = new ArrayList<>();
        for (int i = 0; i < r; i++) perm.add(i);
        java.util.Collections.shuffle(perm, new Random(seed));
        var b = builder();
        Value x = b.input("x", arr(dims));
        Value y = b.transpose(x, arr(perm));
        for (int i = 0; i < r; i++) assertEquals((int) dims.get(perm.get(i)), y.shape().dim(i));
        if (r > 0) assertGradientShapes(b, y, x);
        Value rev = b.transpose(x);
        for (int i = 0; i < r; i++) assertEquals((int) dims.get(r - 1 - i), rev.shape().dim(i));
    }

    @Test
    void transposeRejectsWhatIsNotAPermutation() {
        assertMentions(fails(b -> b.transpose(b.input("x", 2, 3, 4), 0, 1)), "node 'transpose'",
                "perm [0, 1] must have one entry per input dimension (rank 3)");
        assertMentions(fails(b -> b.transpose(b.input("x", 2, 3, 4), 0, 1, 1)), "perm [0, 1, 1] is not a permutation of 0..2");
        assertMentions(fails(b -> b.transpose(b.input("x", 2, 3, 4), 0, 1, 3)), "perm [0, 1, 3] is not a permutation of 0..2");
        assertMentions(fails(b -> b.transpose(b.input("x", 2, 3), -1, 0)), "not a permutation");
        assertMentions(assertThrows(ShapeException.class, () -> new Transpose(null).inferShapes(List.of(Shape.of(2)))),
                "perm must be given");
    }

    // ---- gather ----

    @Property(tries = 150)
    void gatherShapeFollowsOnnx(@ForAll @IntRange(min = 1, max = 4) int rank, @ForAll @IntRange(min = -5, max = 4) int axis,
                                @ForAll @IntRange(min = 0, max = 2) int indexRank, @ForAll long seed) {
        Random rnd = new Random(seed);
        int[] d = new int[rank];
        for (int i = 0; i < rank; i++) d[i] = 1 + rnd.nextInt(4);
        int[] is = new int[indexRank];
        int count = 1;
        for (int i = 0; i < indexRank; i++) count *= is[i] = rnd.nextInt(3);
        boolean axisOk = axis >= -rank && axis < rank;
        int a = axis < 0 ? axis + rank : axis, n = axisOk ? d[a] : 1;
        long[] idx = new long[count];
        boolean indicesOk = true;
        for (int i = 0; i < count; i++) {
            idx[i] = rnd.nextInt(2 * n + 2) - n - 1;          // [-n-1, n]: both ends one out of range
            indicesOk &= idx[i] >= -n && idx[i] < n;
        }
        Statistics.collect(!axisOk ? "axis" : !indicesOk ? "index" : "valid");
        if (!axisOk) {
            assertMentions(fails(b -> b.gather(b.input("x", d), axis, idx, is)),
                    "axis " + axis + " out of range for rank " + rank + ": must be in [" + -rank + ", " + (rank - 1) + "]");
            return;
        }
        if (!indicesOk) {
            assertMentions(fails(b -> b.gather(b.input("x", d), axis, idx, is)),
                    "out of range for an axis of size " + n + ": must be in [" + -n + ", " + (n - 1) + "]");
            return;
        }
        var b = builder();
        Value x = b.input("x", d);
        Value y = b.gather(x, axis, idx, is);
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < a; i++) expected.add(d[i]);
        for (int s : is) expected.add(s);
        for (int i = a + 1; i < rank; i++) expected.add(d[i]);
        assertEquals(Shape.of(arr(expected)), y.shape());
        assertGradientShapes(b, y, x);
    }

    @Test
    void gatherChecksItsIndexLayout() {
        assertMentions(fails(b -> b.gather(b.input("x", 4, 2), 0, new long[] {0, 1, 2}, new int[] {2})),
                "indicesShape [2] holds 2 indices, got 3");
        assertMentions(fails(b -> b.gather(b.input("x", 4, 2), 0, new long[] {}, new int[] {-1})),
                "indicesShape [-1] has a negative dimension");
        assertMentions(fails(b -> b.gather(b.input("s"), 0, 0)), "a scalar (rank 0) has no axis");
        var b = builder();
        assertEquals(Shape.of(2), b.gather(b.input("x", 4, 2), 0, new long[] {-1}, new int[0]).shape());   // scalar index
        Value dy = b.input("dy", 4, 3);
        assertMentions(assertThrows(GraphException.class,
                        () -> b.apply("g", new GatherBackward(1, new long[] {0, 1}, new int[] {2}, 5), dy)),
                "dy dimension 1 is 3, the index dimension 0 is 2");
        assertEquals(Shape.of(4, 5), b.apply("g", new GatherBackward(1, new long[] {0, 1, -1}, new int[] {3}, 5), dy).shape());
    }

    // ---- reduce max ----

    @Property(tries = 60)
    void reduceMaxShapeMatchesTheOtherReductions(@ForAll("dims") List<Integer> dims, @ForAll long seed,
                                                @ForAll boolean keepDims) {
        int r = dims.size();
        Random rnd = new Random(seed);
        List<Integer> axes = new ArrayList<>();
        for (int i = 0; i < r; i++) if (rnd.nextBoolean()) axes.add(rnd.nextBoolean() ? i : i - r);
        var b = builder();
        Value x = b.input("x", arr(dims));
        int[] ax = arr(axes);
        Value y = b.reduceMax(x, keepDims, ax);
        assertEquals(b.reduceSum(x, keepDims, ax).shape(), y.shape());
        if (r > 0) assertGradientShapes(b, y, x);
        assertMentions(fails(g -> g.reduceMax(g.input("x", 2, 3), false, 2)), "axis 2 out of range for rank 2");
        assertMentions(fails(g -> g.reduceMax(g.input("x", 2, 3), false, 1, -1)), "axis 1 named twice");
    }

    @Test
    void reduceMaxBackwardNeedsTheReducedShape() {
        var b = builder();
        Value x = b.input("x", 2, 3), dy = b.input("dy", 2, 1);
        assertMentions(assertThrows(GraphException.class, () -> b.apply("g", new ReduceMaxBackward(new int[] {1}, false), x, dy)),
                "dy must have the reduced shape [2], got [2, 1]");
        assertEquals(Shape.of(2, 3), b.apply("g", new ReduceMaxBackward(new int[] {1}, true), x, dy).shape());
    }

    // ---- elementwise ----

    @Test
    void clipAllowsInfiniteBoundsButNotNaN() {
        var b = builder();
        Value x = b.input("x", 2, 3);
        assertEquals(x.shape(), b.clip(x, Double.NEGATIVE_INFINITY, 6).shape());
        assertEquals(x.shape(), b.clip(x, 1, 0).shape());   // min > max: all max, as ONNX
        assertGradientShapes(b, b.clip(x, 0, Double.POSITIVE_INFINITY), x);
        assertMentions(fails(g -> g.clip(g.input("x", 2), Double.NaN, 1)), "node 'clip'",
                "bounds min = NaN, max = 1.0 must not be NaN");
        assertEquals("Clip", new Clip(0, 1).kind());
    }

    @Property(tries = 40)
    void powMaxMinBroadcastAndTheirGradientKernelChecksItsInputs(@ForAll("dims") List<Integer> dims, @ForAll boolean lead) {
        var b = builder();
        Value a = b.input("a", arr(dims));
        int[] cd = dims.isEmpty() || !lead ? new int[] {1} : Arrays.copyOfRange(arr(dims), 1, dims.size());
        Value c = b.input("c", cd);
        Shape out = dims.isEmpty() ? Shape.of(1) : a.shape();
        for (Value y : List.of(b.pow(a, c), b.max(a, c), b.min(a, c))) {
            assertEquals(out, y.shape());
            assertGradientShapes(b, y, a, c);
        }
        assertEquals(List.of("Pow", "Max", "Min"), List.of(new Binary(Binary.Kind.POW).kind(),
                new Binary(Binary.Kind.MAX).kind(), new Binary(Binary.Kind.MIN).kind()));
        assertEquals("PowBackward", new BinaryBackward(Binary.Kind.POW).kind());
    }

    @Test
    void binaryBackwardIsOnlyForPowMaxMin() {
        var b = builder();
        Value a = b.input("a", 2, 3), c = b.input("c", 3), dy = b.input("dy", 2, 3), bad = b.input("bad", 3);
        assertMentions(assertThrows(GraphException.class, () -> b.applyAll("g", new BinaryBackward(Binary.Kind.ADD), a, c, dy)),
                "op must be POW, MAX or MIN", "got ADD");
        assertMentions(assertThrows(GraphException.class, () -> b.applyAll("g", new BinaryBackward(Binary.Kind.MAX), a, c, bad)),
                "dy must have the broadcast shape [2, 3] of a and b, got [3]");
    }

    @Test
    void newUnaryFunctionsNameThemselvesAndCheckBeta() {
        assertEquals("Selu", new Unary(Unary.Fn.SELU).kind());
        assertEquals("HardSigmoid", new Unary(Unary.Fn.HARD_SIGMOID, 0.2, 0.5).kind());
        assertEquals("HardSwishBackward", new dev.stride.graph.op.UnaryBackward(Unary.Fn.HARD_SWISH, 0).kind());
        assertEquals(new Unary(Unary.Fn.ELU, 0.5, 0), new Unary(Unary.Fn.ELU, 0.5));
        assertMentions(fails(b -> b.hardSigmoid(b.input("x", 2), 0.2, Double.POSITIVE_INFINITY)), "beta = Infinity must be finite");
        var b = builder();
        Value x = b.input("x", 2, 3);
        assertGradientShapes(b, b.selu(x), x);
        assertGradientShapes(b, b.hardSwish(x), x);
    }

    // ---- pad ----

    @Property(tries = 60)
    void padModesGrowEachDimension(@ForAll("dims") List<Integer> dims, @ForAll Pad.Mode mode, @ForAll long seed) {
        Random rnd = new Random(seed);
        int r = dims.size();
        int[] before = new int[r], after = new int[r], expected = new int[r];
        for (int i = 0; i < r; i++) {
            before[i] = rnd.nextInt(6);          // often longer than the dimension: reflected or wrapped repeatedly
            after[i] = rnd.nextInt(6);
            expected[i] = dims.get(i) + before[i] + after[i];
        }
        var b = builder();
        Value x = b.input("x", arr(dims));
        Value y = b.pad(x, before, after, mode);
        assertEquals(Shape.of(expected), y.shape());
        if (r > 0) assertGradientShapes(b, y, x);
        assertEquals(List.of(x.shape()), new PadBackward(before, after, mode).inferShapes(List.of(y.shape())));
    }

    @Test
    void padRejectsBadAttributes() {
        assertMentions(fails(b -> b.pad(b.input("x", 2, 0), new int[] {0, 1}, new int[] {0, 0}, Pad.Mode.REFLECT)),
                "REFLECT padding copies cells of dimension 1, which has none (size 0)");
        var b = builder();
        assertEquals(Shape.of(2, 3), b.pad(b.input("x", 2, 0), new int[] {0, 1}, new int[] {0, 2}, 1.5).shape());
        assertMentions(fails(g -> g.pad(g.input("x", 2, 3), new int[] {0, -1}, new int[] {0, 0}, Pad.Mode.EDGE)),
                "padding must be >= 0 (crop with Slice), got before[1] = -1");
        assertMentions(fails(g -> g.apply("p", new Pad(new int[] {0}, new int[] {0}, 0, null), g.input("x", 2))),
                "mode must be set");
        assertMentions(assertThrows(ShapeException.class,
                        () -> new PadBackward(new int[] {3}, new int[] {1}, Pad.Mode.EDGE).inferShapes(List.of(Shape.of(3)))),
                "dimension 0 of dy is 3, less than the padding 3 + 1");
        assertEquals(new Pad(new int[] {1}, new int[] {2}, 0.5, Pad.Mode.CONSTANT).mode(),
                new Pad(new int[] {1}, new int[] {2}, 0.5).mode());
    }

    // ---- normalisation ----

    @Property(tries = 30)
    void instanceNormKeepsTheShapeAndMakesItsParameters(@ForAll @IntRange(min = 1, max = 3) int n,
                                                       @ForAll @IntRange(min = 1, max = 4) int c,
                                                       @ForAll @IntRange(min = 1, max = 5) int h) {
        var b = builder();
        Value x = b.input("x", n, c, h, h + 1);
        Value y = b.instanceNorm2d("in", x, 1e-5);
        assertEquals(x.shape(), y.shape());
        assertEquals(Shape.of(c), b.value("in/weight").shape());
        assertEquals(Shape.of(c), b.value("in/bias").shape());
        assertGradientShapes(b, y, x, b.value("in/weight"), b.value("in/bias"));
        assertEquals(List.of(x.shape(), Shape.of(c), Shape.of(c)),
                new InstanceNorm2dBackward(1e-5).inferShapes(List.of(x.shape(), Shape.of(c), x.shape())));
    }

    @Test
    void instanceNormRejectsBadInputs() {
        assertMentions(fails(b -> b.instanceNorm2d(b.input("x", 2, 3, 4), b.input("s", 3), b.input("t", 3), 1e-5)),
                "input must be NCHW (rank 4), got rank 3");
        assertMentions(fails(b -> b.instanceNorm2d(b.input("x", 2, 3, 4, 4), b.input("s", 2), b.input("t", 3), 1e-5)),
                "scale must have shape [C] = [3], got [2]");
        assertMentions(fails(b -> b.instanceNorm2d(b.input("x", 2, 3, 4, 4), b.input("s", 3), b.input("t", 3), 0)),
                "eps must be finite and > 0, got 0.0");
        assertMentions(fails(b -> b.instanceNorm2d(b.input("x", 2, 3, 0, 4), b.input("s", 3), b.input("t", 3), 1e-5)),
                "statistics need H*W >= 1 values per plane, got H = 0, W = 4");
        assertMentions(fails(b -> b.instanceNorm2d("n", b.input("x", 2, 3), 1e-5)), "must be NCHW (rank 4)");
        assertMentions(assertThrows(ShapeException.class, () -> new InstanceNorm2d(1e-5).inferShapes(List.of(Shape.of(1, 1, 1, 1)))),
                "expects 3 input(s), got 1");
    }

    @Test
    void lrnChecksItsAttributes() {
        var b = builder();
        Value x = b.input("x", 2, 5, 3);
        Value y = b.lrn(x, 4, 1e-4, 0.75, 1);
        assertEquals(x.shape(), y.shape());
        assertGradientShapes(b, y, x);
        assertEquals((2L * 4 + 3) * 30, new Lrn(4, 1e-4, 0.75, 1).flops(List.of(x.shape()), List.of(x.shape())));
        assertMentions(fails(g -> g.lrn(g.input("x", 2, 5), 3, 1e-4, 0.75, 1)), "node 'lrn'", "(rank >= 3), got rank 2");
        assertMentions(fails(g -> g.lrn(g.input("x", 2, 5, 3), 0, 1e-4, 0.75, 1)), "size = 0 must be >= 1");
        assertMentions(fails(g -> g.lrn(g.input("x", 2, 5, 3), 3, -1, 0.75, 1)), "alpha = -1.0 must be finite and >= 0");
        assertMentions(fails(g -> g.lrn(g.input("x", 2, 5, 3), 3, 1e-4, Double.NaN, 1)), "beta = NaN must be finite");
        assertMentions(fails(g -> g.lrn(g.input("x", 2, 5, 3), 3, 1e-4, 0.75, 0)), "bias = 0.0 must be finite and > 0");
    }

    // ---- Lp pooling ----

    @Property(tries = 200)
    void lpPoolShapeFollowsTheMaxPoolFormulaWithAnyPadding(
            @ForAll @IntRange(min = 1, max = 9) int h, @ForAll @IntRange(min = 1, max = 9) int w,
            @ForAll @IntRange(min = 1, max = 4) int kH, @ForAll @IntRange(min = 1, max = 4) int kW,
            @ForAll @IntRange(min = 1, max = 3) int sH, @ForAll @IntRange(min = 1, max = 3) int sW,
            @ForAll @IntRange(min = 0, max = 3) int pt, @ForAll @IntRange(min = 0, max = 3) int pl,
            @ForAll @IntRange(min = 0, max = 3) int pb, @ForAll @IntRange(min = 0, max = 3) int pr,
            @ForAll @IntRange(min = 1, max = 2) int dH, @ForAll @IntRange(min = 1, max = 2) int dW, @ForAll boolean ceil) {
        PoolSpec spec = PoolSpec.of(kH, kW).stride(sH, sW).pad(pt, pl, pb, pr).dilation(dH, dW).ceilMode(ceil);
        Function<GraphBuilder, Value> build = b -> b.lpPool2d(b.input("x", 2, 3, h, w), 2, spec);
        int oh = PoolShapeTest.expectedOut(h, kH, sH, pt, pb, dH, ceil), ow = PoolShapeTest.expectedOut(w, kW, sW, pl, pr, dW, ceil);
        Statistics.collect(oh < 1 ? "height < 1" : ow < 1 ? "width < 1" : "valid");
        if (oh < 1) {
            assertMentions(fails(build), "node 'lppool'", "output height", ceil ? "ceil((" : "floor((", "must be >= 1");
        } else if (ow < 1) {
            assertMentions(fails(build), "output width", "must be >= 1");
        } else {
            var b = builder();
            Value x = b.input("x", 2, 3, h, w);
            Value y = b.lpPool2d(x, 2, spec);
            assertEquals(Shape.of(2, 3, oh, ow), y.shape());
            assertGradientShapes(b, y, x);
        }
    }

    @Test
    void lpPoolRejectsBadAttributes() {
        assertMentions(fails(b -> b.lpPool2d(b.input("x", 1, 1, 5, 5), 0.5, PoolSpec.of(2))), "p = 0.5 must be finite and >= 1");
        assertMentions(fails(b -> b.lpPool2d(b.input("x", 1, 1, 5, 5), 2, PoolSpec.of(0))), "kernel size kH = 0 must be >= 1");
        assertMentions(fails(b -> b.lpPool2d(b.input("x", 1, 1, 5, 5), 2, PoolSpec.of(2).pad(0, 0, 0, -1))),
                "padding must be >= 0", "padRight = -1");
        assertMentions(fails(b -> b.lpPool2d(b.input("x", 1, 5, 5), 2, PoolSpec.of(2))), "must be 4-D");
    }

    // ---- resize ----

    @Property(tries = 150)
    void resizeTakesTheSizeAndChecksItAgainstTheScale(@ForAll @IntRange(min = 1, max = 9) int h, @ForAll @IntRange(min = 1, max = 9) int w,
                                                      @ForAll @IntRange(min = 1, max = 12) int oh, @ForAll @IntRange(min = 1, max = 12) int ow,
                                                      @ForAll Resize2d.Mode mode, @ForAll Resize2d.Coord coord,
                                                      @ForAll Resize2d.Nearest nearest, @ForAll @IntRange(min = 1, max = 40) int tenths) {
        var b = builder();
        Value x = b.input("x", 2, 3, h, w);
        Value y = b.resize(x, mode, coord, nearest, oh, ow);
        assertEquals(Shape.of(2, 3, oh, ow), y.shape());
        assertGradientShapes(b, y, x);

        double s = tenths / 10.0;   // scales: floor(in * scale), which must leave at least one cell
        int fh = (int) Math.floor(h * s), fw = (int) Math.floor(w * s);
        if (fh >= 1 && fw >= 1) {
            Value z = b.resizeByScales(x, mode, coord, nearest, s, s);
            assertEquals(Shape.of(2, 3, fh, fw), z.shape());
            assertGradientShapes(b, z, x);
        } else {
            assertMentions(assertThrows(GraphException.class, () -> b.resizeByScales(x, mode, coord, nearest, s, s)),
                    "resizeByScales", "must be between 1 and");
        }
        // A scale that does not give the output size is an importer's mistake, refused with the rule.
        double wrong = (oh + 1.5) / h;
        assertMentions(assertThrows(GraphException.class,
                        () -> b.apply("r", new Resize2d(mode, coord, nearest, oh, ow, wrong, (double) ow / w), x)),
                "output size must be within 1 of input size * scale", "outH = " + oh + " for H * scaleH = " + h + " * " + wrong);
    }

    @Test
    void resizeRejectsBadAttributes() {
        var n = Resize2d.Nearest.FLOOR;
        assertMentions(fails(b -> b.apply("r", new Resize2d(Resize2d.Mode.LINEAR, null, n, 2, 2, 1, 1), b.input("x", 1, 1, 2, 2))),
                "mode, coord and nearest must be set");
        assertMentions(fails(b -> b.apply("r", new Resize2d(Resize2d.Mode.LINEAR, Resize2d.Coord.ASYMMETRIC, n, 0, 2, 0, 1),
                b.input("x", 1, 1, 2, 2))), "output size outH = 0, outW = 2 must be >= 1");
        assertMentions(fails(b -> b.apply("r", new Resize2d(Resize2d.Mode.LINEAR, Resize2d.Coord.ASYMMETRIC, n, 2, 2, Double.NaN, 1),
                b.input("x", 1, 1, 2, 2))), "scales scaleH = NaN, scaleW = 1.0 must be finite and > 0");
        assertMentions(fails(b -> b.resize(b.input("x", 1, 2, 2), Resize2d.Mode.LINEAR, Resize2d.Coord.ASYMMETRIC, n, 2, 2)),
                "resize needs a 4-D [N, C, H, W] input");
        var b = builder();
        Value dy = b.input("dy", 1, 2, 4, 6);
        assertEquals(Shape.of(1, 2, 2, 3), b.apply("g", new Resize2dBackward(Resize2d.Mode.NEAREST, Resize2d.Coord.ASYMMETRIC,
                n, 2, 3, 2, 2), dy).shape());
        assertMentions(assertThrows(GraphException.class, () -> b.apply("g", new Resize2dBackward(Resize2d.Mode.NEAREST,
                Resize2d.Coord.ASYMMETRIC, n, 2, 3, 3, 2), dy)), "within 1 of input size * scale");
    }
}
