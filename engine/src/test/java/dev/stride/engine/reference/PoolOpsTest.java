package dev.stride.engine.reference;

import dev.stride.engine.GradCheck;
import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Autodiff;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.PoolSpec;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.AdaptiveAvgPool2dBackward;
import dev.stride.graph.op.AvgPool2dBackward;
import dev.stride.graph.op.SumTo;
import dev.stride.graph.op.Upsample2d;
import dev.stride.graph.op.Upsample2dBackward;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Forward kernels against hand computations and against naive oracles written here from PyTorch's documented
 * formulas (padded coordinates, whole-window enumeration); gradients against central differences.
 */
class PoolOpsTest {
    private static final double EPS = 1e-12;

    /** Runs {@code f} on one input in the given dtype and returns its output. */
    private static Tensor run(DType dt, Tensor x, BiFunction<GraphBuilder, Value, Value> f) {
        var b = new GraphBuilder(dt, false);
        Value in = b.input("x", x.shape());
        b.output("y", f.apply(b, in));
        try (Session s = Session.open(Compiler.compile(b.build()), "reference", SessionOptions.defaults())) {
            return s.run(Map.of("x", x.as(dt))).get("y");
        }
    }

    private static Tensor run(Tensor x, BiFunction<GraphBuilder, Value, Value> f) { return run(DType.F64, x, f); }

    private static void assertValues(Shape shape, double[] expected, Tensor actual) {
        assertEquals(shape, actual.shape());
        assertArrayEquals(expected, actual.toDoubleArray(), EPS);
    }

    /** 1..n laid out in row-major order, optionally negated. */
    private static Tensor counting(Shape s, double sign) {
        Tensor t = Tensor.zeros(DType.F64, s);
        for (long i = 0; i < t.size(); i++) t.set(i, sign * (i + 1));
        return t;
    }

    /** A random permutation of evenly spaced values in (-1, 1): no ties, gaps far above the FD step. */
    private static Tensor distinct(Shape s, long seed) {
        int n = (int) s.size();
        List<Integer> perm = new ArrayList<>();
        for (int i = 0; i < n; i++) perm.add(i);
        Collections.shuffle(perm, new Random(seed));
        Tensor t = Tensor.zeros(DType.F64, s);
        for (int i = 0; i < n; i++) t.set(i, (perm.get(i) + 0.5) * 2.0 / n - 1);
        return t;
    }

    private static Map<String, Tensor> one(Tensor t) { return Map.of("x0", t); }

    private static void gradCheck(Tensor x, BiFunction<GraphBuilder, Value, Value> f, long seed) {
        GradCheck.check(List.of(x.shape()), one(x), (b, xs) -> List.of(f.apply(b, xs.getFirst())), seed,
                1e-6, 1e-7, 80);
    }

    // ---------------------------------------------------------------- max pool

    @Test
    void maxPoolHandCases() {
        Shape s44 = Shape.of(1, 1, 4, 4);
        assertValues(Shape.of(1, 1, 2, 2), new double[] {6, 8, 14, 16}, run(counting(s44, 1), (b, x) -> b.maxPool2d(x, 2, 2)));
        // Float path: same result rounded once.
        assertArrayEquals(new float[] {6, 8, 14, 16}, run(DType.F32, counting(s44, 1), (b, x) -> b.maxPool2d(x, 2, 2)).toFloatArray());
        // Dilation 2: taps {i, i+2} x {j, j+2}; values -1..-16 so the maxima are the top-left taps.
        assertValues(Shape.of(1, 1, 2, 2), new double[] {-1, -2, -5, -6},
                run(counting(s44, -1), (b, x) -> b.maxPool2d(x, PoolSpec.of(2).stride(1).dilation(2))));
        // k = 3, s = 2, pads top 1 / right 1, ceil mode, all values negative: padding (as -inf) never wins, else 0.
        // Rows: window 0 -> {0, 1}, window 1 -> {1, 2, 3}; cols: window 0 -> {0, 1, 2}, window 1 -> {2, 3}.
        assertValues(Shape.of(1, 1, 2, 2), new double[] {-1, -3, -5, -7},
                run(counting(s44, -1), (b, x) -> b.maxPool2d(x, PoolSpec.of(3).stride(2).pad(1, 0, 0, 1).ceilMode(true))));
        // A NaN propagates, as in PyTorch.
        Tensor nan = counting(s44, 1);
        nan.set(0, Double.NaN);
        assertTrue(Double.isNaN(run(nan, (b, x) -> b.maxPool2d(x, 2, 2)).get(0)));
    }

    @Test
    void maxPoolGradientGoesToTheFirstMaximumOnTies() {
        // Constant 3x3 input, 2x2 windows at stride 1: every window's first tap in row-major order is its
        // top-left cell, so dx = 1 on the top-left 2x2 block and 0 elsewhere (d sum / dx).
        var b = new GraphBuilder(DType.F64, true);
        Value x = b.input("x", 1, 1, 3, 3);
        Value loss = b.apply("loss", new SumTo(new int[0]), b.maxPool2d(x, PoolSpec.of(2).stride(1)));
        b.output("dx", Autodiff.gradients(b, loss, List.of(x)).get(x));
        Tensor xt = Tensor.zeros(DType.F64, x.shape());
        for (long i = 0; i < 9; i++) xt.set(i, 0.5);
        try (Session s = Session.open(Compiler.compile(b.build()), "reference", SessionOptions.defaults())) {
            assertArrayEquals(new double[] {1, 1, 0, 1, 1, 0, 0, 0, 0}, s.run(Map.of("x", xt)).get("dx").toDoubleArray());
        }
    }

    /** Independent oracle: walk the window in padded coordinates; padding and the ceil overhang are skipped. */
    private static double[] maxPoolNaive(Tensor x, PoolSpec p, int oh, int ow) {
        int n = x.shape().dim(0) * x.shape().dim(1), h = x.shape().dim(2), w = x.shape().dim(3);
        double[] y = new double[n * oh * ow];
        for (int c = 0; c < n; c++)
            for (int a = 0; a < oh; a++)
                for (int bb = 0; bb < ow; bb++) {
                    double m = Double.NEGATIVE_INFINITY;
                    for (int i = 0; i < p.kH(); i++)
                        for (int j = 0; j < p.kW(); j++) {
                            int r = a * p.strideH() + i * p.dilationH() - p.padTop();
                            int q = bb * p.strideW() + j * p.dilationW() - p.padLeft();
                            if (r >= 0 && r < h && q >= 0 && q < w) m = Math.max(m, x.get((long) c * h * w + (long) r * w + q));
                        }
                    y[(c * oh + a) * ow + bb] = m;
                }
        return y;
    }

    @Property(tries = 20)
    void maxPoolMatchesOracleAndFiniteDifferences(@ForAll @IntRange(min = 1, max = 3) int kH, @ForAll @IntRange(min = 1, max = 3) int kW,
                                                  @ForAll @IntRange(min = 1, max = 3) int sH, @ForAll @IntRange(min = 1, max = 3) int sW,
                                                  @ForAll @IntRange(min = 1, max = 2) int dH, @ForAll @IntRange(min = 1, max = 2) int dW,
                                                  @ForAll @IntRange(min = 0, max = 1) int pt, @ForAll @IntRange(min = 0, max = 1) int pl,
                                                  @ForAll @IntRange(min = 0, max = 1) int pb, @ForAll @IntRange(min = 0, max = 1) int pr,
                                                  @ForAll @IntRange(min = 0, max = 3) int extraH, @ForAll @IntRange(min = 0, max = 3) int extraW,
                                                  @ForAll boolean ceil) {
        // Pads within kernel/2 and an input at least one dilated window long: always a valid configuration.
        PoolSpec p = PoolSpec.of(kH, kW).stride(sH, sW).dilation(dH, dW).ceilMode(ceil)
                .pad(Math.min(pt, kH / 2), Math.min(pl, kW / 2), Math.min(pb, kH / 2), Math.min(pr, kW / 2));
        Shape s = Shape.of(2, 2, dH * (kH - 1) + 1 + extraH, dW * (kW - 1) + 1 + extraW);
        Tensor x = distinct(s, 17L * kH + 3L * sW + extraH);
        Tensor y = run(x, (b, v) -> b.maxPool2d(v, p));
        assertArrayEquals(maxPoolNaive(x, p, y.shape().dim(2), y.shape().dim(3)), y.toDoubleArray(), EPS);
        gradCheck(x, (b, v) -> b.maxPool2d(v, p), 5);
    }

    // ---------------------------------------------------------------- average pools

    @Test
    void avgPoolHandCasesCountPaddingBothWays() {
        // 4x4 of 1..16, k = 3, s = 2, pad 1: windows cover rows/cols {0,1} and {1,2,3}; sums 14, 30, 57, 99.
        Shape s44 = Shape.of(1, 1, 4, 4);
        assertValues(Shape.of(1, 1, 2, 2), new double[] {14 / 9.0, 30 / 9.0, 57 / 9.0, 99 / 9.0},
                run(counting(s44, 1), (b, x) -> b.avgPool2d(x, PoolSpec.of(3).stride(2).pad(1))));
        assertValues(Shape.of(1, 1, 2, 2), new double[] {14 / 4.0, 30 / 6.0, 57 / 6.0, 99 / 9.0},
                run(counting(s44, 1), (b, x) -> b.avgPool2d(x, PoolSpec.of(3).stride(2).pad(1).countIncludePad(false))));
        // Ceil mode, one row 1..6, kW = 3, sW = 2, pad 1 left and right: 4 windows; the last starts at 5, covers
        // cell 5 and the right pad, and stops at W + padRight = 7, so it counts 2 cells with padding, 1 without.
        Shape row = Shape.of(1, 1, 1, 6);
        PoolSpec p = PoolSpec.of(1, 3).stride(1, 2).pad(0, 1, 0, 1).ceilMode(true);
        assertValues(Shape.of(1, 1, 1, 4), new double[] {3 / 3.0, 9 / 3.0, 15 / 3.0, 6 / 2.0},
                run(counting(row, 1), (b, x) -> b.avgPool2d(x, p)));
        assertValues(Shape.of(1, 1, 1, 4), new double[] {3 / 2.0, 9 / 3.0, 15 / 3.0, 6 / 1.0},
                run(counting(row, 1), (b, x) -> b.avgPool2d(x, p.countIncludePad(false))));
        // Floor mode drops that last window.
        assertValues(Shape.of(1, 1, 1, 3), new double[] {1, 3, 5},
                run(counting(row, 1), (b, x) -> b.avgPool2d(x, p.ceilMode(false))));
    }

    /** Independent oracle: enumerate the 2-D window, counting cells inside the padded and the real input. */
    private static double[] avgPoolNaive(Tensor x, PoolSpec p, int oh, int ow) {
        int n = x.shape().dim(0) * x.shape().dim(1), h = x.shape().dim(2), w = x.shape().dim(3);
        double[] y = new double[n * oh * ow];
        for (int c = 0; c < n; c++)
            for (int a = 0; a < oh; a++)
                for (int bb = 0; bb < ow; bb++) {
                    double sum = 0;
                    int padded = 0, real = 0;
                    for (int i = 0; i < p.kH(); i++)
                        for (int j = 0; j < p.kW(); j++) {
                            int r = a * p.strideH() - p.padTop() + i, q = bb * p.strideW() - p.padLeft() + j;
                            if (r >= -p.padTop() && r < h + p.padBottom() && q >= -p.padLeft() && q < w + p.padRight()) padded++;
                            if (r >= 0 && r < h && q >= 0 && q < w) {
                                real++;
                                sum += x.get((long) c * h * w + (long) r * w + q);
                            }
                        }
                    y[(c * oh + a) * ow + bb] = sum / (p.countIncludePad() ? padded : real);
                }
        return y;
    }

    @Property(tries = 20)
    void avgPoolMatchesOracleAndFiniteDifferences(@ForAll @IntRange(min = 1, max = 4) int kH, @ForAll @IntRange(min = 1, max = 4) int kW,
                                                  @ForAll @IntRange(min = 1, max = 3) int sH, @ForAll @IntRange(min = 1, max = 3) int sW,
                                                  @ForAll @IntRange(min = 0, max = 2) int pt, @ForAll @IntRange(min = 0, max = 2) int pl,
                                                  @ForAll @IntRange(min = 0, max = 2) int pb, @ForAll @IntRange(min = 0, max = 2) int pr,
                                                  @ForAll @IntRange(min = 0, max = 3) int extraH, @ForAll @IntRange(min = 0, max = 3) int extraW,
                                                  @ForAll boolean ceil, @ForAll boolean includePad) {
        PoolSpec p = PoolSpec.of(kH, kW).stride(sH, sW).ceilMode(ceil).countIncludePad(includePad)
                .pad(Math.min(pt, kH / 2), Math.min(pl, kW / 2), Math.min(pb, kH / 2), Math.min(pr, kW / 2));
        Shape s = Shape.of(1, 3, kH + extraH, kW + extraW);
        Tensor x = GradCheck.randomInputs(List.of(s), kH * 7L + extraW).get("x0");
        Tensor y = run(x, (b, v) -> b.avgPool2d(v, p));
        assertArrayEquals(avgPoolNaive(x, p, y.shape().dim(2), y.shape().dim(3)), y.toDoubleArray(), EPS);
        gradCheck(x, (b, v) -> b.avgPool2d(v, p), 6);
        // The backward op is linear in dy; its own gradient is the forward pool.
        gradCheck(GradCheck.randomInputs(List.of(y.shape()), 7).get("x0"), (b, dy) -> b.apply("g",
                new AvgPool2dBackward(p.kH(), p.kW(), p.strideH(), p.strideW(), p.padTop(), p.padLeft(), p.padBottom(),
                        p.padRight(), ceil, includePad, s.dim(2), s.dim(3)), dy), 7);
    }

    @Test
    void adaptiveAvgPoolUsesOverlappingBins() {
        // H = 5 into 3 bins: [0, 2), [1, 4), [3, 5); W = 7 into 4 bins: [0, 2), [1, 4), [3, 6), [5, 7).
        assertValues(Shape.of(1, 1, 3, 1), new double[] {1.5, 3, 4.5},
                run(counting(Shape.of(1, 1, 5, 1), 1), (b, x) -> b.adaptiveAvgPool2d(x, 3, 1)));
        assertValues(Shape.of(1, 1, 1, 4), new double[] {1.5, 3, 5, 6.5},
                run(counting(Shape.of(1, 1, 1, 7), 1), (b, x) -> b.adaptiveAvgPool2d(x, 1, 4)));
        // Global average: mean of each plane (1..6 and 7..12).
        assertValues(Shape.of(1, 2, 1, 1), new double[] {3.5, 9.5},
                run(counting(Shape.of(1, 2, 2, 3), 1), (b, x) -> b.globalAvgPool(x)));
    }

    @Property(tries = 15)
    void adaptiveAvgPoolMatchesOracleAndFiniteDifferences(@ForAll @IntRange(min = 1, max = 7) int h, @ForAll @IntRange(min = 1, max = 7) int w,
                                                          @ForAll @IntRange(min = 1, max = 5) int oh, @ForAll @IntRange(min = 1, max = 5) int ow) {
        Shape s = Shape.of(2, 1, h, w);
        Tensor x = GradCheck.randomInputs(List.of(s), h * 13L + ow).get("x0");
        Tensor y = run(x, (b, v) -> b.adaptiveAvgPool2d(v, oh, ow));
        double[] expected = new double[2 * oh * ow];
        for (int c = 0; c < 2; c++)
            for (int a = 0; a < oh; a++)
                for (int bb = 0; bb < ow; bb++) {
                    int r0 = a * h / oh, r1 = -Math.floorDiv(-(a + 1) * h, oh);     // floor and ceil
                    int q0 = bb * w / ow, q1 = -Math.floorDiv(-(bb + 1) * w, ow);
                    double sum = 0;
                    for (int r = r0; r < r1; r++) for (int q = q0; q < q1; q++) sum += x.get(c * h * w + r * w + q);
                    expected[(c * oh + a) * ow + bb] = sum / ((r1 - r0) * (q1 - q0));
                }
        assertArrayEquals(expected, y.toDoubleArray(), EPS);
        gradCheck(x, (b, v) -> b.adaptiveAvgPool2d(v, oh, ow), 8);
        gradCheck(GradCheck.randomInputs(List.of(y.shape()), 9).get("x0"),
                (b, dy) -> b.apply("g", new AdaptiveAvgPool2dBackward(h, w), dy), 9);
    }

    // ---------------------------------------------------------------- resize

    @Test
    void upsampleHandCases() {
        assertValues(Shape.of(1, 1, 4, 4), new double[] {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4},
                run(counting(Shape.of(1, 1, 2, 2), 1), (b, x) -> b.upsampleNearest(x, 2)));
        // Nearest 3 -> 5: floor(o * 3 / 5) = 0, 0, 1, 1, 2.  5 -> 2: 0, 2.
        assertValues(Shape.of(1, 1, 1, 5), new double[] {1, 1, 2, 2, 3},
                run(counting(Shape.of(1, 1, 1, 3), 1), (b, x) -> b.upsample(x, Upsample2d.Mode.NEAREST, 1, 5, false)));
        assertValues(Shape.of(1, 1, 1, 2), new double[] {1, 3},
                run(counting(Shape.of(1, 1, 1, 5), 1), (b, x) -> b.upsample(x, Upsample2d.Mode.NEAREST, 1, 2, false)));
        // Bilinear [1, 2] -> 4: align corners samples 0, 1/3, 2/3, 1; half pixel samples -0.25 (clamped to 0),
        // 0.25, 0.75, 1.25 (past the last cell: stays at 2). These match torch.nn.functional.interpolate.
        assertValues(Shape.of(1, 1, 1, 4), new double[] {1, 4 / 3.0, 5 / 3.0, 2},
                run(counting(Shape.of(1, 1, 1, 2), 1), (b, x) -> b.upsample(x, Upsample2d.Mode.BILINEAR, 1, 4, true)));
        assertValues(Shape.of(1, 1, 1, 4), new double[] {1, 1.25, 1.75, 2},
                run(counting(Shape.of(1, 1, 1, 2), 1), (b, x) -> b.upsample(x, Upsample2d.Mode.BILINEAR, 1, 4, false)));
    }

    /** PyTorch's bilinear sampling, written from its documentation: source coordinate, then a 2x2 blend. */
    private static double[] bilinearNaive(Tensor x, int oh, int ow, boolean alignCorners) {
        int n = x.shape().dim(0) * x.shape().dim(1), h = x.shape().dim(2), w = x.shape().dim(3);
        double[] y = new double[n * oh * ow];
        for (int c = 0; c < n; c++)
            for (int a = 0; a < oh; a++)
                for (int bb = 0; bb < ow; bb++) {
                    double sy = source(a, h, oh, alignCorners), sx = source(bb, w, ow, alignCorners);
                    int y0 = (int) Math.floor(sy), x0 = (int) Math.floor(sx);
                    int y1 = Math.min(y0 + 1, h - 1), x1 = Math.min(x0 + 1, w - 1);
                    double ty = sy - y0, tx = sx - x0;
                    long base = (long) c * h * w;
                    double top = (1 - tx) * x.get(base + y0 * w + x0) + tx * x.get(base + y0 * w + x1);
                    double bottom = (1 - tx) * x.get(base + y1 * w + x0) + tx * x.get(base + y1 * w + x1);
                    y[(c * oh + a) * ow + bb] = (1 - ty) * top + ty * bottom;
                }
        return y;
    }

    private static double source(int dst, int in, int out, boolean alignCorners) {
        if (alignCorners) return out == 1 ? 0 : dst * (in - 1.0) / (out - 1);
        double s = (dst + 0.5) * in / out - 0.5;
        return s < 0 ? 0 : s;
    }

    @Property(tries = 24)
    void upsampleMatchesOracleAndFiniteDifferences(@ForAll @IntRange(min = 1, max = 5) int h, @ForAll @IntRange(min = 1, max = 5) int w,
                                                   @ForAll @IntRange(min = 1, max = 8) int oh, @ForAll @IntRange(min = 1, max = 8) int ow,
                                                   @ForAll Upsample2d.Mode mode, @ForAll boolean align) {
        boolean ac = mode == Upsample2d.Mode.BILINEAR && align;
        Shape s = Shape.of(1, 2, h, w);
        Tensor x = GradCheck.randomInputs(List.of(s), h * 11L + oh * 5L + ow).get("x0");
        Tensor y = run(x, (b, v) -> b.upsample(v, mode, oh, ow, ac));
        double[] expected;
        if (mode == Upsample2d.Mode.BILINEAR) expected = bilinearNaive(x, oh, ow, ac);
        else {
            expected = new double[2 * oh * ow];
            for (int c = 0; c < 2; c++)
                for (int a = 0; a < oh; a++)
                    for (int bb = 0; bb < ow; bb++)
                        expected[(c * oh + a) * ow + bb] = x.get(c * h * w + (a * h / oh) * w + bb * w / ow);
        }
        assertArrayEquals(expected, y.toDoubleArray(), 1e-12);
        gradCheck(x, (b, v) -> b.upsample(v, mode, oh, ow, ac), 10);
        gradCheck(GradCheck.randomInputs(List.of(y.shape()), 11).get("x0"),
                (b, dy) -> b.apply("g", new Upsample2dBackward(mode, h, w, ac), dy), 11);
    }

    // ---------------------------------------------------------------- pad, slice, concat

    @Test
    void padSliceConcatHandCases() {
        Tensor x = counting(Shape.of(2, 2), 1);                       // [[1, 2], [3, 4]]
        assertValues(Shape.of(3, 4), new double[] {9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9},
                run(x, (b, v) -> b.pad(v, new int[] {1, 0}, new int[] {0, 2}, 9)));
        Tensor m = counting(Shape.of(3, 4), 1);                       // rows 1..4, 5..8, 9..12
        assertValues(Shape.of(3, 2), new double[] {2, 3, 6, 7, 10, 11}, run(m, (b, v) -> b.slice(v, -1, 1, 3)));
        assertValues(Shape.of(1, 4), new double[] {9, 10, 11, 12}, run(m, (b, v) -> b.slice(v, 0, 2, 3)));
        assertValues(Shape.of(1, 1, 4, 5), new double[] {0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 3, 4, 0, 0, 0, 0, 0, 0, 0},
                run(counting(Shape.of(1, 1, 2, 2), 1), (b, v) -> b.zeroPad2d(v, 1, 1, 1, 2)));
        // concat([[1, 2], [3, 4]], [[1, 2, 3, 4], [5, 6, 7, 8]] sliced) along the last axis, and along axis 0.
        assertValues(Shape.of(2, 3), new double[] {1, 2, 1, 3, 4, 3},
                run(x, (b, v) -> b.concat(-1, v, b.slice(v, 1, 0, 1))));
        assertValues(Shape.of(3, 2), new double[] {1, 2, 3, 4, 1, 2},
                run(x, (b, v) -> b.concat(0, v, b.slice(v, 0, 0, 1))));
        // Rank 3, middle axis: [2, 1, 2] ++ [2, 2, 2] -> rows of each batch stacked.
        Tensor t = counting(Shape.of(2, 2, 2), 1);                    // batch 0: 1..4, batch 1: 5..8
        assertValues(Shape.of(2, 3, 2), new double[] {3, 4, 1, 2, 3, 4, 7, 8, 5, 6, 7, 8},
                run(t, (b, v) -> b.concat(1, b.slice(v, 1, 1, 2), v)));
    }

    @Property(tries = 12)
    void padSliceConcatGradients(@ForAll @IntRange(min = 1, max = 3) int rank, @ForAll @IntRange(min = 0, max = 2) int axis,
                                 @ForAll @IntRange(min = 0, max = 2) int lo, @ForAll @IntRange(min = 0, max = 2) int hi) {
        int ax = axis % rank;
        int[] dims = new int[rank];
        for (int i = 0; i < rank; i++) dims[i] = 2 + i;
        Shape s = Shape.of(dims);
        int[] before = new int[rank], after = new int[rank];
        before[ax] = lo;
        after[(ax + 1) % rank] = hi;
        gradCheck(GradCheck.randomInputs(List.of(s), 21).get("x0"), (b, v) -> b.pad(v, before, after, 0.25), 12);
        int start = Math.min(lo, dims[ax] - 1);
        gradCheck(GradCheck.randomInputs(List.of(s), 22).get("x0"), (b, v) -> b.slice(v, ax, start, dims[ax]), 13);
        // Concat of three inputs, every one differentiable.
        Shape s1 = s.with(ax, 1), s3 = s.with(ax, 3);
        List<Shape> shapes = List.of(s, s1, s3);
        GradCheck.check(shapes, GradCheck.randomInputs(shapes, 23),
                (b, xs) -> List.of(b.concat(ax - rank, xs.get(0), xs.get(1), xs.get(2))), 14, 1e-6, 1e-7, 80);
    }
}
