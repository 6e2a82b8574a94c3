package dev.stride.engine.cpu;

import dev.stride.engine.RunContext;
import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.engine.reference.ReferenceBackend;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Plan;
import dev.stride.graph.PoolSpec;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.BinaryBackward;
import dev.stride.graph.op.Clip;
import dev.stride.graph.op.ClipBackward;
import dev.stride.graph.op.Gather;
import dev.stride.graph.op.GatherBackward;
import dev.stride.graph.op.InstanceNorm2d;
import dev.stride.graph.op.InstanceNorm2dBackward;
import dev.stride.graph.op.LpPool2d;
import dev.stride.graph.op.LpPool2dBackward;
import dev.stride.graph.op.Lrn;
import dev.stride.graph.op.LrnBackward;
import dev.stride.graph.op.Pad;
import dev.stride.graph.op.PadBackward;
import dev.stride.graph.op.ReduceMax;
import dev.stride.graph.op.ReduceMaxBackward;
import dev.stride.graph.op.Resize2d;
import dev.stride.graph.op.Resize2dBackward;
import dev.stride.graph.op.Transpose;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The cpu kernels of the ONNX-import ops against the float64 reference ({@link CrossBackend}: forward and the
 * gradient of every differentiable input, which runs the backward ops' cpu kernels, at 1 and 2 threads), plus the
 * other paths on shapes large enough to be split over two threads (bit-identical to one thread; the scalar path
 * within tolerance), and NaN handling against the float32 reference.
 */
class OnnxOpKernelsTest {
    private static CrossBackend.Options opts(String tol, int threads, Class<?>... ops) {
        return CrossBackend.Options.forward(tol, ops).withThreads(threads);
    }

    /** A float32 tensor of {@code shape} with values drawn from {@code values}. */
    private static Tensor drawn(Shape shape, Random r, float... values) {
        Tensor t = Tensor.zeros(DType.F32, shape);
        for (long i = 0; i < t.size(); i++) t.set(i, values[r.nextInt(values.length)]);
        return t;
    }

    private static Tensor uniform(Shape shape, Random r, double lo, double hi) {
        Tensor t = Tensor.zeros(DType.F32, shape);
        for (long i = 0; i < t.size(); i++) t.set(i, (float) (lo + (hi - lo) * r.nextDouble()));
        return t;
    }

    private static Shape randomShape(Random r, int minRank, int maxRank, int maxDim) {
        int[] d = new int[minRank + r.nextInt(maxRank - minRank + 1)];
        for (int i = 0; i < d.length; i++) d[i] = 1 + r.nextInt(maxDim);
        return Shape.of(d);
    }

    // ---------------------------------------------------------------------------------------------- transpose

    @Property(tries = 50)
    void transposeMatchesTheReference(@ForAll long seed, @ForAll @IntRange(min = 1, max = 2) int threads) {
        Random r = new Random(seed);
        Shape s = randomShape(r, 1, 5, 7);
        List<Integer> perm = new ArrayList<>(IntStream.range(0, s.rank()).boxed().toList());
        Collections.shuffle(perm, r);
        int[] p = perm.stream().mapToInt(Integer::intValue).toArray();
        CrossBackend.check(List.of(s), (b, x) -> List.of(b.transpose(x.getFirst(), p)), seed,
                opts("elementwise", threads, Transpose.class).withGradients(0));
    }

    /** NCHW to NHWC with sizes past a tile (32 x 128) and not multiples of it: the tiled path. */
    @Property(tries = 10)
    void transposeTilesMatchTheReference(@ForAll @IntRange(min = 1, max = 2) int n, @ForAll @IntRange(min = 1, max = 140) int c,
                                         @ForAll @IntRange(min = 1, max = 9) int h, @ForAll @IntRange(min = 1, max = 41) int w,
                                         @ForAll @IntRange(min = 1, max = 2) int threads) {
        CrossBackend.check(List.of(Shape.of(n, c, h, w)), (b, x) -> List.of(b.transpose(x.getFirst(), 0, 2, 3, 1)),
                c * 31L + w, opts("elementwise", threads, Transpose.class).withGradients(0));
    }

    // ---------------------------------------------------------------------------------------------- clip

    private static final double[] BOUNDS = {Double.NEGATIVE_INFINITY, -0.7, -0.3, 0, 0.1, 1 / 3.0, 0.5, 1e-40,
            Double.POSITIVE_INFINITY};

    /**
     * Bounds that floats cannot hold (0.1, 1/3, a subnormal below float range), min > max, infinite bounds, and
     * inputs sitting exactly on the float neighbours of the bounds, where the gradient's strict inequality
     * decides.
     */
    @Property(tries = 60)
    void clipMatchesTheReference(@ForAll @IntRange(min = 0, max = 8) int lo, @ForAll @IntRange(min = 0, max = 8) int hi,
                                 @ForAll long seed, @ForAll @IntRange(min = 1, max = 2) int threads) {
        Random r = new Random(seed);
        Shape s = randomShape(r, 1, 4, 9);
        double min = BOUNDS[lo], max = BOUNDS[hi];
        // Infinite outputs (max = -inf, or both bounds +inf) cannot be compared within a tolerance: the NaN test has them.
        net.jqwik.api.Assume.that(max != Double.NEGATIVE_INFINITY && !(min == Double.POSITIVE_INFINITY && max == Double.POSITIVE_INFINITY));
        List<Float> special = new ArrayList<>();
        for (double bound : new double[] {min, max}) {
            float f = (float) bound;
            if (Float.isFinite(f)) special.addAll(List.of(f, Math.nextUp(f), Math.nextDown(f)));
        }
        Tensor x = uniform(s, r, -1, 1);
        for (long i = 0; i < x.size(); i++) if (r.nextInt(3) == 0) x.set(i, special.isEmpty() ? 0f : special.get(r.nextInt(special.size())));
        CrossBackend.check(List.of(s), (b, v) -> List.of(b.clip(v.getFirst(), min, max)), seed,
                opts("elementwise", threads, Clip.class, ClipBackward.class).withGradients(0).withInput(0, x));
    }

    // ---------------------------------------------------------------------------------------------- pow, max, min

    /** A shape that broadcasts against {@code s}: some dimensions set to 1, some leading ones dropped. */
    private static Shape broadcastable(Shape s, Random r) {
        int drop = r.nextInt(s.rank() + 1);
        int[] d = new int[s.rank() - drop];
        for (int i = 0; i < d.length; i++) d[i] = r.nextInt(3) == 0 ? 1 : s.dim(drop + i);
        return Shape.of(d);
    }

    /**
     * Both gradients through BinaryBackward with broadcasting either way. MAX and MIN draw from five values, so
     * ties are common and a tie sent to b instead of a would differ by a whole dy; POW keeps a > 0 (the
     * gradient in b is NaN for a < 0) and sets some exponents to 0 (da is then 0 by definition).
     */
    @Property(tries = 60)
    void binaryGradientsMatchTheReference(@ForAll @IntRange(min = 0, max = 2) int kind, @ForAll long seed,
                                          @ForAll @IntRange(min = 1, max = 2) int threads) {
        Random r = new Random(seed);
        Shape out = randomShape(r, 1, 4, 11);
        Shape sa = r.nextBoolean() ? out : broadcastable(out, r), sb = r.nextBoolean() ? out : broadcastable(out, r);
        Binary.Kind op = Binary.Kind.values()[Binary.Kind.POW.ordinal() + kind];
        Tensor a, c;
        if (op == Binary.Kind.POW) {
            a = uniform(sa, r, 0.25, 2);
            c = uniform(sb, r, -2, 2);
            for (long i = 0; i < c.size(); i++) if (r.nextInt(5) == 0) c.set(i, 0);
        } else {
            a = drawn(sa, r, -1, -0.5f, 0, 0.5f, 1);
            c = drawn(sb, r, -1, -0.5f, 0, 0.5f, 1);
        }
        CrossBackend.check(List.of(sa, sb), (b, x) -> List.of(b.apply("op", new Binary(op), x.get(0), x.get(1))), seed,
                opts("elementwise", threads, BinaryBackward.class).withGradients(0, 1).withInput(0, a).withInput(1, c));
    }

    // ---------------------------------------------------------------------------------------------- gather

    /** Any axis (negative too), negative and repeated indices, scalar (rank-0) and 2-D index layouts. */
    @Property(tries = 60)
    void gatherMatchesTheReference(@ForAll long seed, @ForAll @IntRange(min = 1, max = 2) int threads) {
        Random r = new Random(seed);
        Shape s = randomShape(r, 1, 4, 6);
        int axis = r.nextInt(2 * s.rank()) - s.rank(), n = s.dim(axis);
        int[] indicesShape = new int[r.nextInt(3)];
        for (int i = 0; i < indicesShape.length; i++) indicesShape[i] = 1 + r.nextInt(4);
        long[] indices = new long[IntStream.of(indicesShape).reduce(1, (x, y) -> x * y)];
        for (int i = 0; i < indices.length; i++) indices[i] = r.nextInt(2 * n) - n;
        CrossBackend.check(List.of(s), (b, x) -> List.of(b.gather(x.getFirst(), axis, indices, indicesShape)), seed,
                opts("reduction", threads, Gather.class, GatherBackward.class).withGradients(0));
    }

    // ---------------------------------------------------------------------------------------------- reduce max

    /**
     * Random axis sets (none, some, all; negative) and keepDims, so the innermost merged group is kept in some
     * cases and reduced in others; half the cases draw from three values, so maxima tie and the gradient must
     * pick the first in row-major order.
     */
    @Property(tries = 80)
    void reduceMaxMatchesTheReference(@ForAll long seed, @ForAll boolean keepDims, @ForAll boolean ties,
                                      @ForAll @IntRange(min = 1, max = 2) int threads) {
        Random r = new Random(seed);
        Shape s = randomShape(r, 1, 4, 13);
        List<Integer> axes = new ArrayList<>();
        for (int i = 0; i < s.rank(); i++) if (r.nextBoolean()) axes.add(r.nextBoolean() ? i : i - s.rank());
        int[] ax = axes.stream().mapToInt(Integer::intValue).toArray();
        Tensor x = ties ? drawn(s, r, -1, 0, 1) : uniform(s, r, -1, 1);
        CrossBackend.check(List.of(s), (b, v) -> List.of(b.apply("max", new ReduceMax(ax, keepDims), v.getFirst())), seed,
                opts("elementwise", threads, ReduceMax.class, ReduceMaxBackward.class).withGradients(0).withInput(0, x));
    }

    /** A reduction over an empty axis is -infinity; its gradient is empty. */
    @Test
    void reduceMaxOfAnEmptyAxisIsMinusInfinity() {
        Map<String, Tensor> out = Paths.run(List.of(Shape.of(3, 0)),
                (b, x) -> List.of(b.apply("max", new ReduceMax(new int[] {1}, false), x.getFirst())),
                Map.of("x0", Tensor.zeros(DType.F32, Shape.of(3, 0))), true, 1, List.of(ReduceMax.class));
        for (int i = 0; i < 3; i++) assertEquals(Double.NEGATIVE_INFINITY, out.get("out0").get(i));
    }

    // ---------------------------------------------------------------------------------------------- pad backward

    /** Random pads per axis, longer than the axis too (reflection and wrapping then repeat). */
    private static int[][] pads(Shape s, Random r) {
        int[] before = new int[s.rank()], after = new int[s.rank()];
        for (int i = 0; i < s.rank(); i++) {
            before[i] = r.nextInt(3) == 0 ? 0 : r.nextInt(2 * s.dim(i) + 2);
            after[i] = r.nextInt(3) == 0 ? 0 : r.nextInt(2 * s.dim(i) + 2);
        }
        return new int[][] {before, after};
    }

    /** The gradient of reflect, edge and wrap padding (constant padding's is a Slice), through PadBackward. */
    @Property(tries = 60)
    void padGradientMatchesTheReference(@ForAll @IntRange(min = 1, max = 3) int mode, @ForAll long seed,
                                        @ForAll @IntRange(min = 1, max = 2) int threads) {
        Random r = new Random(seed);
        Shape s = randomShape(r, 1, 4, 5);
        int[][] p = pads(s, r);
        Pad.Mode m = Pad.Mode.values()[mode];
        CrossBackend.check(List.of(s), (b, x) -> List.of(b.pad(x.getFirst(), p[0], p[1], m)), seed,
                opts("reduction.long", threads, PadBackward.class).withGradients(0));
    }

    /** PadBackward applied directly, every mode (CONSTANT included), forward only (its gradient is Pad). */
    @Property(tries = 40)
    void padBackwardMatchesTheReference(@ForAll @IntRange(min = 0, max = 3) int mode, @ForAll long seed,
                                        @ForAll @IntRange(min = 1, max = 2) int threads) {
        Random r = new Random(seed);
        Shape s = randomShape(r, 1, 4, 6);
        int[][] p = pads(s, r);
        Pad.Mode m = Pad.Mode.values()[mode];
        Shape padded = new Pad(p[0], p[1], 0, m).inferShapes(List.of(s)).getFirst();
        CrossBackend.check(List.of(padded), (b, x) -> List.of(b.apply("pad_grad", new PadBackward(p[0], p[1], m), x.getFirst())),
                seed, opts("reduction.long", threads, PadBackward.class));
    }

    // ---------------------------------------------------------------------------------------------- instance norm

    @Property(tries = 50)
    void instanceNormMatchesTheReference(@ForAll @IntRange(min = 1, max = 3) int n, @ForAll @IntRange(min = 1, max = 4) int c,
                                         @ForAll @IntRange(min = 1, max = 9) int h, @ForAll @IntRange(min = 1, max = 37) int w,
                                         @ForAll @IntRange(min = 0, max = 2) int epsIndex,
                                         @ForAll @IntRange(min = 1, max = 2) int threads) {
        double eps = new double[] {1e-5, 1e-3, 0.1}[epsIndex];
        List<Shape> shapes = List.of(Shape.of(n, c, h, w), Shape.of(c), Shape.of(c));
        CrossBackend.check(shapes, (b, x) -> List.of(b.instanceNorm2d(x.get(0), x.get(1), x.get(2), eps)),
                n * 131L + c * 17L + h * w, opts("norm", threads, InstanceNorm2d.class, InstanceNorm2dBackward.class)
                        .withGradients(0, 1, 2));
    }

    /** Planes sitting at 1000 +- 0.01, and two-cell planes: the statistics must not lose the spread to cancellation. */
    @Test
    void instanceNormKeepsPrecisionWithALargeMean() {
        for (Shape s : List.of(Shape.of(2, 3, 9, 11), Shape.of(3, 4, 1, 2))) {
            Tensor x = Tensor.zeros(DType.F32, s);
            Random r = new Random(5);
            for (long i = 0; i < x.size(); i++) x.set(i, (float) (1000 + 0.01 * (r.nextDouble() * 2 - 1)));
            List<Shape> shapes = List.of(s, Shape.of(s.dim(1)), Shape.of(s.dim(1)));
            CrossBackend.check(shapes, (b, v) -> List.of(b.instanceNorm2d(v.get(0), v.get(1), v.get(2), 1e-5)), 5,
                    opts("norm", 1, InstanceNorm2d.class, InstanceNorm2dBackward.class).withGradients(0, 1, 2).withInput(0, x));
        }
    }

    // ---------------------------------------------------------------------------------------------- LRN

    /** Window sizes odd and even (asymmetric windows), rank 3 to 5, negative beta too. */
    @Property(tries = 50)
    void lrnMatchesTheReference(@ForAll @IntRange(min = 1, max = 7) int size, @ForAll long seed,
                                @ForAll @IntRange(min = 1, max = 2) int threads) {
        Random r = new Random(seed);
        int[] d = new int[3 + r.nextInt(3)];
        d[0] = 1 + r.nextInt(2);
        d[1] = 1 + r.nextInt(9);
        for (int i = 2; i < d.length; i++) d[i] = 1 + r.nextInt(d.length == 3 ? 40 : 7);
        double alpha = r.nextInt(4) == 0 ? 0 : 2 * r.nextDouble(), beta = -0.5 + 2 * r.nextDouble();
        double bias = 0.5 + 2.5 * r.nextDouble();
        CrossBackend.check(List.of(Shape.of(d)), (b, x) -> List.of(b.lrn(x.getFirst(), size, alpha, beta, bias)), seed,
                opts("elementwise", threads, Lrn.class, LrnBackward.class).withGradients(0));
    }

    // ---------------------------------------------------------------------------------------------- Lp pooling

    /**
     * p = 1, 2 (exact powers) and 1.5, 3 (exp/log); any padding (windows wholly in padding give 0 and pass no
     * gradient), stride greater than the kernel, dilation, ceil mode, padding on one side only.
     */
    @Property(tries = 60)
    void lpPoolMatchesTheReference(@ForAll @IntRange(min = 0, max = 3) int pIndex, @ForAll long seed,
                                   @ForAll @IntRange(min = 1, max = 2) int threads) {
        Random r = new Random(seed);
        double p = new double[] {1, 2, 1.5, 3}[pIndex];
        int kH = 1 + r.nextInt(4), kW = 1 + r.nextInt(4), dH = 1 + r.nextInt(2), dW = 1 + r.nextInt(2);
        PoolSpec spec = PoolSpec.of(kH, kW).stride(1 + r.nextInt(4), 1 + r.nextInt(4)).dilation(dH, dW)
                .pad(r.nextInt(4), r.nextInt(4), r.nextInt(4), r.nextInt(4)).ceilMode(r.nextBoolean());
        Shape s = Shape.of(1 + r.nextInt(2), 1 + r.nextInt(3), dH * (kH - 1) + 1 + r.nextInt(7), dW * (kW - 1) + 1 + r.nextInt(30));
        CrossBackend.check(List.of(s), (b, x) -> List.of(b.lpPool2d(x.getFirst(), p, spec)), seed,
                opts("pool.lp", threads, LpPool2d.class, LpPool2dBackward.class).withGradients(0));
    }

    // ---------------------------------------------------------------------------------------------- resize

    /**
     * Every mode, coordinate mode and rounding, up and down, by sizes (scale = out / in) or by a scale whose
     * floor(in * scale) is not in * scale (the two then differ, e.g. align corners divides by in * scale - 1).
     */
    @Property(tries = 120)
    void resizeMatchesTheReference(@ForAll Resize2d.Mode mode, @ForAll Resize2d.Coord coord,
                                   @ForAll Resize2d.Nearest nearest, @ForAll long seed,
                                   @ForAll @IntRange(min = 1, max = 2) int threads) {
        Random r = new Random(seed);
        int n = 1 + r.nextInt(2), c = 1 + r.nextInt(3), h = 1 + r.nextInt(9), w = 1 + r.nextInt(13);
        double[] scales = {0.4, 0.6, 0.75, 1, 1.5, 2, 2.5, 3};
        Resize2d op;
        if (r.nextBoolean()) {
            int oh = 1 + r.nextInt(20), ow = 1 + r.nextInt(30);
            op = new Resize2d(mode, coord, nearest, oh, ow, (double) oh / h, (double) ow / w);
        } else {
            double sh = scales[r.nextInt(scales.length)], sw = scales[r.nextInt(scales.length)];
            h = Math.max(h, 3);
            w = Math.max(w, 3);
            op = new Resize2d(mode, coord, nearest, (int) Math.floor(h * sh), (int) Math.floor(w * sw), sh, sw);
        }
        Resize2d resize = op;
        CrossBackend.check(List.of(Shape.of(n, c, h, w)), (b, x) -> List.of(b.apply("resize", resize, x.getFirst())), seed,
                opts("reduction", threads, Resize2d.class, Resize2dBackward.class).withGradients(0));
    }

    // ---------------------------------------------------------------------------------------------- vector math

    private static float ulps(float got, double want) {
        return (float) (Math.abs(got - want) / Math.ulp((float) want));
    }

    /**
     * The reproducible vector log and exp against Math in double: within 3 ulp over their whole float range
     * (subnormal inputs to log and results of exp included), and the special values the kernels rely on.
     */
    @Test
    void vectorLogAndExpAreAccurate() {
        Random r = new Random(3);
        int n = OnnxOpKernels.L;
        float[] x = new float[n], out = new float[n];
        for (int trial = 0; trial < 20_000; trial++) {
            for (int i = 0; i < n; i++) x[i] = Float.intBitsToFloat(1 + r.nextInt(0x7f7fffff));   // any positive float
            OnnxVectorMath.log(jdk.incubator.vector.FloatVector.fromArray(OnnxOpKernels.S, x, 0)).intoArray(out, 0);
            for (int i = 0; i < n; i++)
                if (ulps(out[i], Math.log(x[i])) > 3) fail("log(" + x[i] + ") = " + out[i] + ", want " + Math.log(x[i]));
            for (int i = 0; i < n; i++) x[i] = (float) (-103 + 191.5 * r.nextDouble());
            OnnxVectorMath.exp(jdk.incubator.vector.FloatVector.fromArray(OnnxOpKernels.S, x, 0)).intoArray(out, 0);
            for (int i = 0; i < n; i++) {
                double want = Math.exp(x[i]);
                boolean ok = want < Float.MIN_NORMAL ? Math.abs(out[i] - want) <= 2 * Float.MIN_VALUE : ulps(out[i], want) <= 3;
                if (!ok) fail("exp(" + x[i] + ") = " + out[i] + ", want " + want);
            }
        }
        float[] special = {0f, -0f, Float.POSITIVE_INFINITY, Float.NaN, Float.MIN_VALUE, 1f};
        float[] logs = {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, (float) Math.log(Float.MIN_VALUE), 0f};
        float[] expIn = {Float.NEGATIVE_INFINITY, -200f, 0f, 89f, Float.POSITIVE_INFINITY, Float.NaN};
        float[] exps = {0f, 0f, 1f, Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN};
        for (int k = 0; k < special.length; k++) {
            var v = jdk.incubator.vector.FloatVector.broadcast(OnnxOpKernels.S, special[k]);
            assertEquals(logs[k], OnnxVectorMath.log(v).lane(0), Float.isFinite(logs[k]) ? 2 * Math.ulp(logs[k]) : 0f, "log(" + special[k] + ")");
            v = jdk.incubator.vector.FloatVector.broadcast(OnnxOpKernels.S, expIn[k]);
            assertEquals(exps[k], OnnxVectorMath.exp(v).lane(0), "exp(" + expIn[k] + ")");
        }
    }

    // ---------------------------------------------------------------------------------------------- NaN

    private static boolean same(double a, double b) { return a == b || Double.isNaN(a) && Double.isNaN(b); }

    /**
     * NaN inputs and infinite outputs against the float32 reference (CrossBackend cannot compare them): clip and
     * max/min propagate NaN, the reduce-max gradient goes to the first NaN, clip's gradient stops at a NaN, max/min's goes to b.
     */
    @Test
    void nanIsHandledAsTheReference() {
        Random r = new Random(11);
        Shape s = Shape.of(3, 5, 19);
        Tensor x = uniform(s, r, -1, 1), y = uniform(s, r, -1, 1), g = uniform(s, r, -1, 1);
        for (long i = 0; i < x.size(); i++) {
            if (r.nextInt(7) == 0) x.set(i, Float.NaN);
            if (r.nextInt(7) == 0) y.set(i, Float.NaN);
        }
        Shape rowMax = Shape.of(3, 5), colMax = Shape.of(3, 19);
        BiFunction<GraphBuilder, List<Value>, List<Value>> f = (b, v) -> {
            List<Value> out = new ArrayList<>(List.of(
                    b.clip(v.get(0), -0.5, 0.5),
                    b.apply("clip_grad", new ClipBackward(-0.5, 0.5), v.get(0), v.get(2)),
                    b.clip(v.get(0), Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY),
                    b.clip(v.get(0), Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY),
                    b.apply("clip_inf_grad", new ClipBackward(Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY), v.get(0), v.get(2)),
                    b.apply("clip_none_grad", new ClipBackward(Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY), v.get(0), v.get(2)),
                    b.apply("max", new ReduceMax(new int[] {2}, false), v.get(0)),
                    b.apply("max1", new ReduceMax(new int[] {1}, false), v.get(0)),
                    b.apply("max_grad", new ReduceMaxBackward(new int[] {2}, false), v.get(0), v.get(3)),
                    b.apply("max1_grad", new ReduceMaxBackward(new int[] {1}, false), v.get(0), v.get(4))));
            out.addAll(b.applyAll("maxg", new BinaryBackward(Binary.Kind.MAX), v.get(0), v.get(1), v.get(2)));
            out.addAll(b.applyAll("ming", new BinaryBackward(Binary.Kind.MIN), v.get(0), v.get(1), v.get(2)));
            return out;
        };
        List<Shape> shapes = List.of(s, s, s, rowMax, colMax);
        Map<String, Tensor> feeds = new LinkedHashMap<>(Map.of("x0", x, "x1", y, "x2", g,
                "x3", uniform(rowMax, r, -1, 1), "x4", uniform(colMax, r, -1, 1)));
        Map<String, Tensor> reference = Paths.reference(shapes, f, feeds);
        for (boolean simd : new boolean[] {true, false}) {
            Map<String, Tensor> cpu = Paths.run(shapes, f, feeds, simd, 1,
                    List.of(Clip.class, ClipBackward.class, ReduceMax.class, ReduceMaxBackward.class, BinaryBackward.class));
            for (String name : reference.keySet())
                for (long i = 0; i < reference.get(name).size(); i++)
                    if (!same(reference.get(name).get(i), cpu.get(name).get(i)))
                        fail(name + " (simd " + simd + ") at " + i + ": cpu " + cpu.get(name).get(i) + ", reference "
                                + reference.get(name).get(i));
        }
    }

    // ---------------------------------------------------------------------------------------------- other paths

    /** A shape of 655k floats: every kernel's work figure is then worth two threads. */
    private static final Shape BIG = Shape.of(4, 8, 128, 160);

    @Test
    void elementwiseAndLayoutPathsAgreeAndThreadsDoNotChangeBits() {
        long[] idx = {3, -1, 0, 3, 5, -8, 7, 7, 2, -3, 1, 6, 0, -5, 4, 4, -2, 3, 6, 1};   // 20 of 8 channels
        Shape gathered = Shape.of(4, 20, 128, 160);
        Pad pad = new Pad(new int[] {0, 1, 3, 2}, new int[] {0, 2, 1, 5}, 0, Pad.Mode.REFLECT);
        Shape padded = pad.inferShapes(List.of(BIG)).getFirst();
        Paths.check(List.of(BIG, BIG, BIG, gathered, padded, Shape.of(4, 128), Shape.of(4, 8, 128)), (b, v) -> {
            List<Value> out = new ArrayList<>(List.of(
                    b.clip(v.get(0), -0.3, 0.4),
                    b.apply("clip_grad", new ClipBackward(-0.3, 0.4), v.get(0), v.get(1)),
                    b.transpose(v.get(0), 0, 2, 3, 1),
                    b.transpose(v.get(0), 1, 0, 3, 2),
                    b.gather(v.get(0), 1, idx),
                    b.apply("gather_grad", new GatherBackward(1, idx, new int[] {20}, 8), v.get(3)),
                    b.apply("pad_grad", new PadBackward(pad.before(), pad.after(), Pad.Mode.REFLECT), v.get(4)),
                    b.apply("wrap_grad", new PadBackward(pad.before(), pad.after(), Pad.Mode.WRAP), v.get(4)),
                    b.reduceMax(v.get(0), false, 1, 3),
                    b.reduceMax(v.get(0), true, 3),
                    b.apply("max_grad", new ReduceMaxBackward(new int[] {1, 3}, false), v.get(0), v.get(5)),
                    b.apply("max3_grad", new ReduceMaxBackward(new int[] {3}, false), v.get(0), v.get(6))));
            out.addAll(b.applyAll("max_g", new BinaryBackward(Binary.Kind.MAX), v.get(0), v.get(1), v.get(2)));
            out.addAll(b.applyAll("pow_g", new BinaryBackward(Binary.Kind.POW), b.apply("abs", new Clip(0.1, 1), v.get(0)),
                    v.get(1), v.get(2)));
            return out;
        }, 1, "reduction", List.of(Clip.class, ClipBackward.class, Transpose.class, Gather.class, GatherBackward.class,
                PadBackward.class, ReduceMax.class, ReduceMaxBackward.class, BinaryBackward.class));
    }

    @Test
    void normPathsAgreeAndThreadsDoNotChangeBits() {
        Shape ch = Shape.of(8);
        Paths.check(List.of(BIG, ch, ch, BIG), (b, v) -> {
            List<Value> out = new ArrayList<>();
            out.add(b.instanceNorm2d(v.get(0), v.get(1), v.get(2), 1e-5));
            out.addAll(b.applyAll("in_grad", new InstanceNorm2dBackward(1e-5), v.get(0), v.get(1), v.get(3)));
            out.add(b.lrn(v.get(0), 5, 1e-2, 0.75, 1));
            out.add(b.apply("lrn_grad", new LrnBackward(4, 0.5, 0.75, 2), v.get(0), v.get(3)));
            return out;
        }, 2, "norm", List.of(InstanceNorm2d.class, InstanceNorm2dBackward.class, Lrn.class, LrnBackward.class));
    }

    @Test
    void poolAndResizePathsAgreeAndThreadsDoNotChangeBits() {
        PoolSpec spec = PoolSpec.of(3, 3).stride(2, 2).pad(1, 2, 0, 1).dilation(1, 2).ceilMode(true);
        LpPool2d lp = new LpPool2d(3, 3, 3, 2, 2, 1, 2, 0, 1, 1, 2, true);
        Shape pooled = lp.inferShapes(List.of(BIG)).getFirst();
        Resize2d up = new Resize2d(Resize2d.Mode.LINEAR, Resize2d.Coord.HALF_PIXEL, Resize2d.Nearest.FLOOR, 200, 250, 200 / 128.0, 250 / 160.0);
        Paths.check(List.of(BIG, pooled, pooled, Shape.of(4, 8, 200, 250)), (b, v) -> List.of(
                b.lpPool2d(v.get(0), 2, spec),
                b.lpPool2d(v.get(0), 3, spec),
                b.apply("lp_grad", new LpPool2dBackward(3, 3, 3, 2, 2, 1, 2, 0, 1, 1, 2, true), v.get(0),
                        b.apply("lp", lp, v.get(0)), v.get(2)),
                b.apply("up", up, v.get(0)),
                b.resize(v.get(0), Resize2d.Mode.NEAREST, Resize2d.Coord.ASYMMETRIC, Resize2d.Nearest.ROUND_PREFER_CEIL, 256, 320),
                b.apply("up_grad", new Resize2dBackward(Resize2d.Mode.LINEAR, Resize2d.Coord.HALF_PIXEL, Resize2d.Nearest.FLOOR,
                        128, 160, 200 / 128.0, 250 / 160.0), v.get(3))),
                3, "pool.lp", List.of(LpPool2d.class, LpPool2dBackward.class, Resize2d.class, Resize2dBackward.class));
    }

    /**
     * Runs a float32 graph on this family's kernels, registered on the SIMD or the scalar path, at a chosen thread
     * count (ops of other families run on their reference kernels), and compares runs.
     */
    private static final class Paths {
        private Paths() {}

        static Map<String, Tensor> run(List<Shape> shapes, BiFunction<GraphBuilder, List<Value>, List<Value>> f,
                                       Map<String, Tensor> feeds, boolean simd, int threads, List<Class<?>> mustRunOnCpu) {
            Graph g = build(shapes, f);
            CpuKernelRegistry registry = new CpuKernelRegistry();
            OnnxOpKernels.register(registry, simd);
            Plan plan = Compiler.compile(g, new Compiler.Target(CpuBackend.NAME, Map.of(), new CpuAlgorithms(registry, false)));
            try (CpuProgram p = new CpuProgram(plan, registry, ReferenceBackend.kernels(), threads)) {
                for (var n : plan.scheduledNodes())
                    if (mustRunOnCpu.contains(n.op().getClass()) && p.algorithm(n.id()).equals(CpuAlgorithms.REFERENCE))
                        fail("node '" + n.name() + "' (" + n.op().kind() + ") has no cpu kernel");
                for (Value v : g.inputs()) p.write(v, feeds.get(v.name()));
                p.run(new RunContext(0));
                Map<String, Tensor> out = new LinkedHashMap<>();
                g.outputs().forEach((name, v) -> out.put(name, p.read(v)));
                return out;
            }
        }

        /** The same float32 graph on the reference backend. */
        static Map<String, Tensor> reference(List<Shape> shapes, BiFunction<GraphBuilder, List<Value>, List<Value>> f,
                                             Map<String, Tensor> feeds) {
            try (Session s = Session.open(Compiler.compile(build(shapes, f)), "reference", SessionOptions.defaults())) {
                return s.run(feeds);
            }
        }

        private static Graph build(List<Shape> shapes, BiFunction<GraphBuilder, List<Value>, List<Value>> f) {
            GraphBuilder b = new GraphBuilder(DType.F32, false);
            List<Value> xs = new ArrayList<>();
            for (int i = 0; i < shapes.size(); i++) xs.add(b.input("x" + i, shapes.get(i)));
            List<Value> outs = f.apply(b, xs);
            for (int k = 0; k < outs.size(); k++) b.output("out" + k, outs.get(k));
            return b.build();
        }

        /**
         * Random U(-1, 1) inputs; the SIMD path at 1 and 2 threads must be bit-identical, and the scalar path must
         * agree with it within {@code tolKey}; no output may be all zeros (a comparison of zeros proves nothing).
         */
        static void check(List<Shape> shapes, BiFunction<GraphBuilder, List<Value>, List<Value>> f, long seed,
                          String tolKey, List<Class<?>> mustRunOnCpu) {
            Random r = new Random(seed);
            Map<String, Tensor> feeds = new LinkedHashMap<>();
            for (int i = 0; i < shapes.size(); i++) feeds.put("x" + i, uniform(shapes.get(i), r, -1, 1));
            Map<String, Tensor> one = run(shapes, f, feeds, VectorConfig.SIMD, 1, mustRunOnCpu);
            Map<String, Tensor> two = run(shapes, f, feeds, VectorConfig.SIMD, 2, mustRunOnCpu);
            Map<String, Tensor> scalar = run(shapes, f, feeds, false, 1, mustRunOnCpu);
            Tolerances.Tol tol = Tolerances.of(tolKey);
            for (String name : one.keySet()) {
                float[] a = one.get(name).toFloatArray(), b = two.get(name).toFloatArray(), c = scalar.get(name).toFloatArray();
                double max = 0;
                for (int i = 0; i < a.length; i++) {
                    if (Float.floatToRawIntBits(a[i]) != Float.floatToRawIntBits(b[i]))
                        fail(name + ": 2 threads differ from 1 at " + i + ": " + b[i] + " vs " + a[i]);
                    double err = Math.abs(a[i] - c[i]), allowed = tol.atol() + tol.rtol() * Math.abs(a[i]);
                    if (!(err <= allowed)) fail(name + ": scalar path " + c[i] + " vs " + a[i] + " at " + i + " (tolerance '" + tolKey + "')");
                    max = Math.max(max, Math.abs(a[i]));
                }
                assertNotEquals(0.0, max, name + " is all zeros");
            }
        }
    }
}
