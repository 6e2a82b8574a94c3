package dev.stride.engine.reference;

import dev.stride.engine.GradCheck;
import dev.stride.engine.Session;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.PoolSpec;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.BinaryBackward;
import dev.stride.graph.op.ClipBackward;
import dev.stride.graph.op.Pad;
import dev.stride.graph.op.ReduceMaxBackward;
import dev.stride.graph.op.Resize2d;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Forward values of the ops added for ONNX import against computations written out here from the ONNX operator
 * definitions (small hand-worked cases and brute-force loops), and finite-difference checks of every
 * differentiable input's gradient. {@link OnnxConformanceTest} compares with ONNX's own expected outputs.
 */
class OnnxOpsTest {
    // ---- helpers ----

    /** Runs {@code f} on inputs x0, x1, ... in double and returns all of its outputs. */
    private static List<Tensor> run(Map<String, Tensor> inputs, BiFunction<GraphBuilder, List<Value>, List<Value>> f) {
        var b = new GraphBuilder(DType.F64, false);
        List<Value> xs = new ArrayList<>();
        for (var e : inputs.entrySet()) xs.add(b.input(e.getKey(), e.getValue().shape()));
        List<Value> ys = f.apply(b, xs);
        for (int i = 0; i < ys.size(); i++) b.output("y" + i, ys.get(i));
        try (Session s = Session.open(Compiler.compile(b.build()))) {
            Map<String, Tensor> out = s.run(inputs);
            List<Tensor> r = new ArrayList<>();
            for (int i = 0; i < ys.size(); i++) r.add(out.get("y" + i));
            return r;
        }
    }

    private static Tensor forward(Map<String, Tensor> inputs, BiFunction<GraphBuilder, List<Value>, Value> f) {
        return run(inputs, (b, xs) -> List.of(f.apply(b, xs))).getFirst();
    }

    private static Map<String, Tensor> inputs(long seed, Shape... shapes) { return GradCheck.randomInputs(List.of(shapes), seed); }

    private static Map<String, Tensor> feed(Tensor... ts) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (int i = 0; i < ts.length; i++) m.put("x" + i, ts[i]);
        return m;
    }

    private static void assertClose(double[] expected, Tensor actual, double tol) {
        assertEquals(expected.length, actual.size(), "element count");
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual.get(i);
            assertEquals(e, a, tol * Math.max(1, Math.abs(e)), "element " + i + " of " + actual.shape());
        }
    }

    private static void gradCheck(List<Shape> shapes, Map<String, Tensor> in, BiFunction<GraphBuilder, List<Value>, Value> f, long seed) {
        GradCheck.check(shapes, in, (b, xs) -> List.of(f.apply(b, xs)), seed, 1e-6, 1e-6, 60);
    }

    /** The row-major coordinates of flat index {@code i}. */
    private static int[] coords(long i, Shape s) {
        int[] c = new int[s.rank()];
        for (int d = s.rank() - 1; d >= 0; d--) {
            c[d] = (int) (i % s.dim(d));
            i /= s.dim(d);
        }
        return c;
    }

    private static long flat(int[] c, Shape s) {
        long i = 0;
        for (int d = 0; d < s.rank(); d++) i = i * s.dim(d) + c[d];
        return i;
    }

    private static Shape randomShape(Random r, int minRank, int maxRank, int maxDim) {
        int[] d = new int[minRank + r.nextInt(maxRank - minRank + 1)];
        for (int i = 0; i < d.length; i++) d[i] = 1 + r.nextInt(maxDim);
        return Shape.of(d);
    }

    // ---- transpose ----

    @Property(tries = 30)
    void transposeMovesEveryElementAndItsGradientBack(@ForAll long seed) {
        Random r = new Random(seed);
        Shape s = randomShape(r, 0, 4, 3);
        List<Integer> p = new ArrayList<>();
        for (int i = 0; i < s.rank(); i++) p.add(i);
        Collections.shuffle(p, r);
        int[] perm = p.stream().mapToInt(Integer::intValue).toArray();
        var in = inputs(seed, s);
        Tensor y = forward(in, (b, xs) -> b.transpose(xs.getFirst(), perm));
        Tensor x = in.get("x0");
        for (long i = 0; i < y.size(); i++) {   // y[c] = x[c'] with c'[perm[k]] = c[k]
            int[] c = coords(i, y.shape()), src = new int[s.rank()];
            for (int k = 0; k < perm.length; k++) src[perm[k]] = c[k];
            assertEquals(x.get(flat(src, s)), y.get(i), 0);
        }
        gradCheck(List.of(s), in, (b, xs) -> b.transpose(xs.getFirst(), perm), seed);
    }

    // ---- clip ----

    @Property(tries = 20)
    void clipFollowsOnnxAndPassesGradientStrictlyInside(@ForAll @IntRange(min = 0, max = 2) int lowCase,
                                                       @ForAll @IntRange(min = 0, max = 2) int highCase, @ForAll long seed) {
        double lo = new double[] {Double.NEGATIVE_INFINITY, -0.3, 0.2}[lowCase];
        double hi = new double[] {0.4, Double.POSITIVE_INFINITY, -0.5}[highCase];   // -0.5: min > max (unless -inf)
        Shape s = Shape.of(3, 5);
        var in = inputs(seed, s);
        Tensor x = in.get("x0");
        for (long i = 0; i < x.size(); i++)   // keep finite differences off the bounds
            for (double bound : new double[] {lo, hi}) if (Math.abs(x.get(i) - bound) < 0.01) x.set(i, bound + 0.02);
        Tensor y = forward(in, (b, xs) -> b.clip(xs.getFirst(), lo, hi));
        for (long i = 0; i < x.size(); i++) {
            double v = x.get(i), e = lo > hi ? hi : v < lo ? lo : v > hi ? hi : v;
            assertEquals(e, y.get(i), 0);
        }
        gradCheck(List.of(s), in, (b, xs) -> b.clip(xs.getFirst(), lo, hi), seed);
    }

    @Test
    void clipGradientIsZeroOnTheBounds() {
        Tensor x = Tensor.of(Shape.of(4), -1.0, 1.0, 0.5, 2.0), dy = Tensor.of(Shape.of(4), 3.0, 4.0, 5.0, 6.0);
        Tensor dx = forward(feed(x, dy), (b, xs) -> b.apply("g", new ClipBackward(-1, 1), xs.get(0), xs.get(1)));
        assertArrayEquals(new double[] {0, 0, 5, 0}, dx.toDoubleArray());
    }

    // ---- pow, max, min ----

    @Test
    void powMaxMinAtTheirEdges() {
        Tensor a = Tensor.of(Shape.of(6), 0.0, 0.0, -2.0, 2.0, -2.0, 3.0), c = Tensor.of(Shape.of(6), 0.0, 2.0, 3.0, 0.5, 0.5, 3.0);
        double[] y = forward(feed(a, c), (b, xs) -> b.pow(xs.get(0), xs.get(1))).toDoubleArray();
        assertArrayEquals(new double[] {1, 0, -8, Math.sqrt(2), Double.NaN, 27}, y);
        Tensor dy = Tensor.of(Shape.of(6), 1.0, 1.0, 1.0, 1.0, 1.0, 2.0);
        List<Tensor> d = run(feed(a, c, dy), (b, xs) -> b.applyAll("g", new BinaryBackward(Binary.Kind.POW), xs.get(0), xs.get(1), xs.get(2)));
        // da = dy b a^(b-1), 0 where b = 0; db = dy a^b ln a, 0 where a = 0 and b >= 0, NaN for a < 0.
        assertArrayEquals(new double[] {0, 0, 12, 0.5 / Math.sqrt(2), Double.NaN, 2 * 27}, d.get(0).toDoubleArray(), 1e-15);
        assertArrayEquals(new double[] {0, 0, Double.NaN, Math.sqrt(2) * Math.log(2), Double.NaN, 2 * 27 * Math.log(3)},
                d.get(1).toDoubleArray(), 1e-13);

        Tensor p = Tensor.of(Shape.of(3), 1.0, 2.0, 3.0), q = Tensor.of(Shape.of(3), 2.0, 2.0, 1.0), g = Tensor.of(Shape.of(3), 10.0, 20.0, 30.0);
        List<Tensor> mx = run(feed(p, q, g), (b, xs) -> b.applyAll("g", new BinaryBackward(Binary.Kind.MAX), xs.get(0), xs.get(1), xs.get(2)));
        assertArrayEquals(new double[] {0, 20, 30}, mx.get(0).toDoubleArray());   // the tie (2, 2) goes to a
        assertArrayEquals(new double[] {10, 0, 0}, mx.get(1).toDoubleArray());
        List<Tensor> mn = run(feed(p, q, g), (b, xs) -> b.applyAll("g", new BinaryBackward(Binary.Kind.MIN), xs.get(0), xs.get(1), xs.get(2)));
        assertArrayEquals(new double[] {10, 20, 0}, mn.get(0).toDoubleArray());
        assertArrayEquals(new double[] {0, 0, 30}, mn.get(1).toDoubleArray());
        double[] nan = forward(feed(Tensor.of(Shape.of(2), Double.NaN, 1.0), Tensor.of(Shape.of(2), 0.0, Double.NaN)),
                (b, xs) -> b.max(xs.get(0), xs.get(1))).toDoubleArray();
        assertTrue(Double.isNaN(nan[0]) && Double.isNaN(nan[1]), "max propagates NaN: " + Arrays.toString(nan));
    }

    @Property(tries = 15)
    void powGradientsWithBroadcastingAndIntegerExponentsOfNegativeBases(@ForAll long seed) {
        Shape a = Shape.of(2, 3), c = Shape.of(3);
        var in = inputs(seed, a, c);
        Tensor e = in.get("x1");
        for (long i = 0; i < 3; i++) e.set(i, i + 1);   // 1, 2, 3: real for every base, smooth in a
        GradCheck.check(List.of(a, c), in, (b, xs) -> List.of(b.pow(xs.get(0), xs.get(1))), seed, 1e-6, 1e-6, 60,
                java.util.Set.of(0));
    }

    // ---- gather ----

    @Property(tries = 30)
    void gatherPicksAlongTheAxisAndScatterAddsItsGradient(@ForAll long seed) {
        Random r = new Random(seed);
        Shape s = randomShape(r, 1, 3, 4);
        int axis = r.nextInt(2 * s.rank()) - s.rank(), a = axis < 0 ? axis + s.rank() : axis, n = s.dim(a);
        int[] is = new int[r.nextInt(3)];
        int count = 1;
        for (int i = 0; i < is.length; i++) count *= is[i] = 1 + r.nextInt(3);
        long[] idx = new long[count];
        for (int i = 0; i < count; i++) idx[i] = r.nextInt(2 * n) - n;   // repeats and negative indices
        var in = inputs(seed, s);
        Tensor y = forward(in, (b, xs) -> b.gather(xs.getFirst(), axis, idx, is));
        Shape isShape = Shape.of(is);
        for (long i = 0; i < y.size(); i++) {
            int[] c = coords(i, y.shape()), src = new int[s.rank()];
            for (int k = 0; k < a; k++) src[k] = c[k];
            int[] ic = Arrays.copyOfRange(c, a, a + is.length);
            long j = idx[(int) flat(ic, isShape)];
            src[a] = (int) (j < 0 ? j + n : j);
            for (int k = a + 1; k < s.rank(); k++) src[k] = c[k - 1 + is.length];
            assertEquals(in.get("x0").get(flat(src, s)), y.get(i), 0);
        }
        gradCheck(List.of(s), in, (b, xs) -> b.gather(xs.getFirst(), axis, idx, is), seed);
    }

    // ---- reduce max ----

    @Property(tries = 30)
    void reduceMaxMatchesBruteForce(@ForAll long seed, @ForAll boolean keepDims) {
        Random r = new Random(seed);
        Shape s = randomShape(r, 1, 4, 3);
        List<Integer> axes = new ArrayList<>();
        for (int i = 0; i < s.rank(); i++) if (r.nextBoolean()) axes.add(i);
        int[] ax = axes.stream().mapToInt(Integer::intValue).toArray();
        var in = inputs(seed, s);
        Tensor y = forward(in, (b, xs) -> b.reduceMax(xs.getFirst(), keepDims, ax));
        int[] kept = s.dims();
        for (int a : (ax.length == 0 ? java.util.stream.IntStream.range(0, s.rank()).toArray() : ax)) kept[a] = 1;
        double[] expected = new double[(int) Shape.of(kept).size()];
        Arrays.fill(expected, Double.NEGATIVE_INFINITY);
        for (long i = 0; i < s.size(); i++) {
            int[] c = coords(i, s);
            for (int d = 0; d < c.length; d++) if (kept[d] == 1) c[d] = 0;
            int k = (int) flat(c, Shape.of(kept));
            expected[k] = Math.max(expected[k], in.get("x0").get(i));
        }
        assertClose(expected, y, 0);
        gradCheck(List.of(s), in, (b, xs) -> b.reduceMax(xs.getFirst(), keepDims, ax), seed);
    }

    @Test
    void reduceMaxOfNothingIsMinusInfinity() {
        Tensor y = forward(feed(Tensor.zeros(DType.F64, Shape.of(2, 0))), (b, xs) -> b.reduceMax(xs.getFirst(), false, 1));
        assertArrayEquals(new double[] {Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY}, y.toDoubleArray());
    }

    @Test
    void reduceMaxGradientGoesToTheFirstMaximumOrTheNaN() {
        Tensor x = Tensor.of(Shape.of(3, 3), 1.0, 3.0, 3.0, 2.0, 2.0, 0.0, 1.0, Double.NaN, 5.0);
        Tensor y = forward(feed(x), (b, xs) -> b.reduceMax(xs.getFirst(), false, 1));
        assertEquals(3, y.get(0));
        assertEquals(2, y.get(1));
        assertTrue(Double.isNaN(y.get(2)));
        Tensor dy = Tensor.of(Shape.of(3), 10.0, 20.0, 30.0);
        Tensor dx = forward(feed(x, dy), (b, xs) -> b.apply("g", new ReduceMaxBackward(new int[] {1}, false), xs.get(0), xs.get(1)));
        assertArrayEquals(new double[] {0, 10, 0, 20, 0, 0, 0, 30, 0}, dx.toDoubleArray());
    }

    // ---- pad ----

    /** numpy.pad's source cell, by bouncing off the edges (reflect) or stepping whole periods (wrap). */
    private static int padSource(Pad.Mode mode, int i, int n) {
        switch (mode) {
            case CONSTANT -> { return i >= 0 && i < n ? i : -1; }
            case EDGE -> { return Math.max(0, Math.min(n - 1, i)); }
            case WRAP -> {
                while (i < 0) i += n;
                while (i >= n) i -= n;
                return i;
            }
            default -> {
                if (n == 1) return 0;
                while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
                return i;
            }
        }
    }

    @Test
    void padModesOnAHandExample() {
        Tensor x = Tensor.of(Shape.of(1, 3), 1.0, 2.0, 3.0);
        int[] before = {0, 2}, after = {0, 2};
        assertArrayEquals(new double[] {3, 2, 1, 2, 3, 2, 1}, forward(feed(x), (b, xs) -> b.pad(xs.getFirst(), before, after, Pad.Mode.REFLECT)).toDoubleArray());
        assertArrayEquals(new double[] {1, 1, 1, 2, 3, 3, 3}, forward(feed(x), (b, xs) -> b.pad(xs.getFirst(), before, after, Pad.Mode.EDGE)).toDoubleArray());
        assertArrayEquals(new double[] {2, 3, 1, 2, 3, 1, 2}, forward(feed(x), (b, xs) -> b.pad(xs.getFirst(), before, after, Pad.Mode.WRAP)).toDoubleArray());
        assertArrayEquals(new double[] {7, 7, 1, 2, 3, 7, 7}, forward(feed(x), (b, xs) -> b.pad(xs.getFirst(), before, after, 7.0)).toDoubleArray());
        // numpy.pad([1, 2, 3], (5, 4), 'reflect'): the reflection repeats.
        assertArrayEquals(new double[] {2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3}, forward(feed(x),
                (b, xs) -> b.pad(xs.getFirst(), new int[] {0, 5}, new int[] {0, 4}, Pad.Mode.REFLECT)).toDoubleArray());
    }

    @Property(tries = 30)
    void padModesCopyTheirSourcesAndSendGradientsBack(@ForAll Pad.Mode mode, @ForAll long seed) {
        Random r = new Random(seed);
        Shape s = randomShape(r, 1, 3, 3);
        int[] before = new int[s.rank()], after = new int[s.rank()], o = new int[s.rank()];
        for (int i = 0; i < s.rank(); i++) {
            before[i] = r.nextInt(5);
            after[i] = r.nextInt(5);
            o[i] = s.dim(i) + before[i] + after[i];
        }
        var in = inputs(seed, s);
        Tensor y = forward(in, (b, xs) -> b.pad(xs.getFirst(), before, after, mode));
        Shape ys = Shape.of(o);
        for (long i = 0; i < y.size(); i++) {
            int[] c = coords(i, ys), src = new int[s.rank()];
            boolean constant = false;
            for (int d = 0; d < c.length; d++) {
                src[d] = padSource(mode, c[d] - before[d], s.dim(d));
                constant |= src[d] < 0;
            }
            assertEquals(constant ? 0 : in.get("x0").get(flat(src, s)), y.get(i), 0);
        }
        gradCheck(List.of(s), in, (b, xs) -> b.pad(xs.getFirst(), before, after, mode), seed);
    }

    // ---- instance norm ----

    @Property(tries = 15)
    void instanceNormNormalisesEachPlane(@ForAll @IntRange(min = 1, max = 2) int n, @ForAll @IntRange(min = 1, max = 3) int c,
                                         @ForAll @IntRange(min = 1, max = 3) int h, @ForAll @IntRange(min = 1, max = 3) int w,
                                         @ForAll long seed) {
        Shape xs = Shape.of(n, c, h, w), cs = Shape.of(c);
        var in = inputs(seed, xs, cs, cs);
        double eps = 0.01;
        Tensor y = forward(in, (b, v) -> b.instanceNorm2d(v.get(0), v.get(1), v.get(2), eps));
        double[] x = in.get("x0").toDoubleArray(), e = new double[x.length];
        int m = h * w;
        for (int p = 0; p < n * c; p++) {
            double mean = 0, var = 0;
            for (int j = 0; j < m; j++) mean += x[p * m + j] / m;
            for (int j = 0; j < m; j++) var += (x[p * m + j] - mean) * (x[p * m + j] - mean) / m;
            for (int j = 0; j < m; j++)
                e[p * m + j] = in.get("x1").get(p % c) * (x[p * m + j] - mean) / Math.sqrt(var + eps) + in.get("x2").get(p % c);
        }
        assertClose(e, y, 1e-12);
        gradCheck(List.of(xs, cs, cs), in, (b, v) -> b.instanceNorm2d(v.get(0), v.get(1), v.get(2), eps), seed);
    }

    // ---- LRN ----

    @Property(tries = 20)
    void lrnDividesByTheWindowOfSquares(@ForAll @IntRange(min = 1, max = 6) int size, @ForAll @IntRange(min = 1, max = 5) int c,
                                        @ForAll long seed) {
        Shape s = Shape.of(2, c, 2, 3);
        var in = inputs(seed, s);
        double alpha = 0.5, beta = 0.75, bias = 1.5;   // large alpha: the window matters at this scale
        Tensor y = forward(in, (b, xs) -> b.lrn(xs.getFirst(), size, alpha, beta, bias));
        Tensor x = in.get("x0");
        for (long i = 0; i < x.size(); i++) {
            int[] k = coords(i, s);
            double sum = 0;
            for (int ch = k[1] - (size - 1) / 2; ch <= k[1] + size / 2; ch++) {   // floor((size-1)/2) .. ceil((size-1)/2)
                if (ch < 0 || ch >= c) continue;
                double v = x.get(flat(new int[] {k[0], ch, k[2], k[3]}, s));
                sum += v * v;
            }
            assertEquals(x.get(i) / Math.pow(bias + alpha / size * sum, beta), y.get(i), 1e-14);
        }
        gradCheck(List.of(s), in, (b, xs) -> b.lrn(xs.getFirst(), size, alpha, beta, bias), seed);
    }

    // ---- Lp pooling ----

    @Property(tries = 25)
    void lpPoolTakesTheNormOfEachWindow(@ForAll @IntRange(min = 1, max = 3) int k, @ForAll @IntRange(min = 1, max = 2) int stride,
                                        @ForAll @IntRange(min = 0, max = 2) int pad, @ForAll @IntRange(min = 1, max = 2) int dil,
                                        @ForAll @IntRange(min = 0, max = 3) int pCase, @ForAll boolean ceil, @ForAll long seed) {
        double p = new double[] {1, 2, 3, 2.5}[pCase];
        int h = 6, w = 7;   // room for the widest dilated window (span 7) without padding
        PoolSpec spec = PoolSpec.of(k, k + 1).stride(stride).pad(pad, pad, pad + 1, pad).dilation(dil).ceilMode(ceil);
        Shape s = Shape.of(1, 2, h, w);
        var in = inputs(seed, s);
        Tensor y = forward(in, (b, xs) -> b.lpPool2d(xs.getFirst(), p, spec));
        Tensor x = in.get("x0");
        Shape ys = y.shape();
        for (long i = 0; i < y.size(); i++) {
            int[] o = coords(i, ys);
            double sum = 0;
            for (int a = 0; a < spec.kH(); a++)
                for (int c = 0; c < spec.kW(); c++) {
                    int ih = o[2] * stride - pad + a * dil, iw = o[3] * stride - pad + c * dil;
                    if (ih >= 0 && ih < h && iw >= 0 && iw < w) sum += Math.pow(Math.abs(x.get(flat(new int[] {0, o[1], ih, iw}, s))), p);
                }
            assertEquals(Math.pow(sum, 1 / p), y.get(i), 1e-13);
        }
        gradCheck(List.of(s), in, (b, xs) -> b.lpPool2d(xs.getFirst(), p, spec), seed);
    }

    // ---- resize ----

    /**
     * One axis of ONNX's reference Resize, written as it is there: the source coordinate, the ratio in (0, 1] from
     * the cell below, the two neighbours nearest to the coordinate in the edge-padded data, and their weights.
     */
    static double interpolate1d(double[] data, double scale, int outLength, double x, Resize2d.Mode mode,
                                Resize2d.Coord coord, Resize2d.Nearest nearest) {
        int in = data.length;
        double length = scale * in, src = switch (coord) {
            case ALIGN_CORNERS -> length == 1 ? 0 : x * (in - 1) / (length - 1);
            case ASYMMETRIC -> x / scale;
            case PYTORCH_HALF_PIXEL -> length == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
            case HALF_PIXEL -> (x + 0.5) / scale - 0.5;
            case HALF_PIXEL_SYMMETRIC -> in / 2.0 * (1 - outLength / length) + (x + 0.5) / scale - 0.5;
            case TF_HALF_PIXEL_FOR_NEAREST -> (x + 0.5) / scale;
        };
        double ratio = src == Math.floor(src) ? 1 : src - Math.floor(src);
        double[] coeffs = mode == Resize2d.Mode.LINEAR ? new double[] {1 - ratio, ratio} : switch (nearest) {
            case ROUND_PREFER_FLOOR -> ratio == 1 ? new double[] {0, 1} : new double[] {ratio <= 0.5 ? 1 : 0, ratio > 0.5 ? 1 : 0};
            case ROUND_PREFER_CEIL -> ratio == 1 ? new double[] {0, 1} : new double[] {ratio < 0.5 ? 1 : 0, ratio >= 0.5 ? 1 : 0};
            case FLOOR -> ratio == 1 ? new double[] {0, 1} : new double[] {1, 0};
            case CEIL -> new double[] {0, 1};
        };
        // The padded array is data with one edge copy on each side; neighbours are its two cells nearest to
        // src + 1, ties to the lower index.
        double[] padded = new double[in + 2];
        for (int i = 0; i < padded.length; i++) padded[i] = data[Math.max(0, Math.min(in - 1, i - 1))];
        Integer[] order = new Integer[padded.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        double at = src + 1;
        Arrays.sort(order, (p, q) -> Math.abs(at - p) != Math.abs(at - q) ? Double.compare(Math.abs(at - p), Math.abs(at - q)) : p - q);
        int lo = Math.min(order[0], order[1]), hi = Math.max(order[0], order[1]);
        return coeffs[0] * padded[lo] + coeffs[1] * padded[hi];
    }

    /** ONNX's reference for two axes: along W in every row, then along H over those results. */
    static double[] referenceResize(double[] plane, int h, int w, int oh, int ow, double sh, double sw,
                                    Resize2d.Mode mode, Resize2d.Coord coord, Resize2d.Nearest nearest) {
        double[] out = new double[oh * ow];
        for (int i = 0; i < oh; i++)
            for (int j = 0; j < ow; j++) {
                double[] column = new double[h];
                for (int r = 0; r < h; r++)
                    column[r] = interpolate1d(Arrays.copyOfRange(plane, r * w, r * w + w), sw, ow, j, mode, coord, nearest);
                out[i * ow + j] = interpolate1d(column, sh, oh, i, mode, coord, nearest);
            }
        return out;
    }

    @Property(tries = 60)
    void resizeMatchesOnnxsReferenceAlgorithm(@ForAll @IntRange(min = 1, max = 5) int h, @ForAll @IntRange(min = 1, max = 5) int w,
                                             @ForAll @IntRange(min = 1, max = 9) int oh, @ForAll @IntRange(min = 1, max = 9) int ow,
                                             @ForAll boolean byScales, @ForAll @IntRange(min = 3, max = 30) int tenths,
                                             @ForAll Resize2d.Mode mode, @ForAll Resize2d.Coord coord,
                                             @ForAll Resize2d.Nearest nearest, @ForAll long seed) {
        double s = tenths / 10.0;
        int outH = byScales ? (int) Math.floor(h * s) : oh, outW = byScales ? (int) Math.floor(w * s) : ow;
        if (outH < 1 || outW < 1) return;
        double sh = byScales ? s : (double) oh / h, sw = byScales ? s : (double) ow / w;
        Shape xs = Shape.of(2, 1, h, w);
        var in = inputs(seed, xs);
        BiFunction<GraphBuilder, List<Value>, Value> f = byScales
                ? (b, v) -> b.resizeByScales(v.getFirst(), mode, coord, nearest, s, s)
                : (b, v) -> b.resize(v.getFirst(), mode, coord, nearest, oh, ow);
        Tensor y = forward(in, f);
        double[] x = in.get("x0").toDoubleArray(), expected = new double[2 * outH * outW];
        for (int p = 0; p < 2; p++) {
            double[] plane = referenceResize(Arrays.copyOfRange(x, p * h * w, (p + 1) * h * w), h, w, outH, outW, sh, sw,
                    mode, coord, nearest);
            System.arraycopy(plane, 0, expected, p * outH * outW, plane.length);
        }
        assertClose(expected, y, 1e-14);
        gradCheck(List.of(xs), in, f, seed);
    }

    @Test
    void resizeDownsamplesWithTheGivenScaleNotTheSizeRatio() {
        // ONNX test_resize_downsample_scales_linear_align_corners: [[1, 2, 3, 4], [5, 6, 7, 8]], scales 0.6 -> 1 x 2.
        // Output column 1 maps to 1 * (4 - 1) / (4 * 0.6 - 1) = 2.142857...: 3 + 0.142857 * (4 - 3).
        Tensor x = Tensor.of(Shape.of(1, 1, 2, 4), 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0);
        double s = 0.6f;   // the model stores float scales
        Tensor y = forward(feed(x), (b, xs) -> b.resizeByScales(xs.getFirst(), Resize2d.Mode.LINEAR,
                Resize2d.Coord.ALIGN_CORNERS, Resize2d.Nearest.ROUND_PREFER_FLOOR, s, s));
        assertEquals(Shape.of(1, 1, 1, 2), y.shape());
        assertArrayEquals(new double[] {1, 3 + 3 / (4 * s - 1) - 2}, y.toDoubleArray(), 1e-12);
    }
}
