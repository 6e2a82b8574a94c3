package dev.stride.engine.reference;

import dev.stride.engine.GradCheck;
import dev.stride.engine.Session;
import dev.stride.engine.Tensor;
import dev.stride.graph.Autodiff;
import dev.stride.graph.Compiler;
import dev.stride.graph.ConvSpec;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.BiasBroadcast;
import dev.stride.graph.op.BiasGrad;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Conv2dBackwardData;
import dev.stride.graph.op.Conv2dBackwardFilter;
import dev.stride.graph.op.SumTo;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The convolution family on the reference backend against independent computations written here: the forward
 * convolution through an explicitly zero-padded input and an explicitly dilated kernel, the transposed
 * convolution as a scatter, the adjoint identity between them, and finite differences for every gradient.
 */
class ConvOpsTest {

    /** One convolution: x[n, c, h, w], w[o, c/g, kh, kw]; for a transposed one x[n, o, h, w] -> [n, c, ...]. */
    record Cfg(int n, int c, int o, int g, int h, int w, int kh, int kw, int sh, int sw,
               int pt, int pl, int pb, int pr, int dh, int dw, boolean bias) {
        ConvSpec spec() {
            return ConvSpec.defaults().stride(sh, sw).pad(pt, pl, pb, pr).dilation(dh, dw).groups(g).bias(bias);
        }

        Shape x() { return Shape.of(n, c, h, w); }

        Shape weight() { return Shape.of(o, c / g, kh, kw); }

        /** Padded input and dilated kernel extents, the two sizes the naive convolution is written with. */
        int hp() { return h + pt + pb; }
        int wp() { return w + pl + pr; }
        int khd() { return (kh - 1) * dh + 1; }
        int kwd() { return (kw - 1) * dw + 1; }
        boolean valid() { return hp() >= khd() && wp() >= kwd(); }
    }

    /**
     * A random valid convolution. Draws reach batch 1, one channel, odd sizes, strides above the kernel,
     * one-sided padding, dilation, groups and depthwise (c = g); {@code max} bounds the spatial size.
     */
    static Cfg randomCfg(Random r, int max) {
        while (true) {
            int g = 1 + r.nextInt(3);
            boolean depthwise = r.nextInt(4) == 0;
            int cg = depthwise ? 1 : 1 + r.nextInt(3), og = depthwise ? 1 + r.nextInt(2) : 1 + r.nextInt(3);
            int[] pads = new int[4];
            for (int i = 0; i < 4; i++) pads[i] = r.nextInt(3) == 0 ? r.nextInt(3) : 0;
            Cfg cfg = new Cfg(1 + r.nextInt(2), cg * g, og * g, g, 1 + r.nextInt(max), 1 + r.nextInt(max),
                    1 + r.nextInt(4), 1 + r.nextInt(4), 1 + r.nextInt(4), 1 + r.nextInt(3),
                    pads[0], pads[1], pads[2], pads[3], 1 + r.nextInt(3), 1 + r.nextInt(2), r.nextBoolean());
            if (cfg.valid()) return cfg;
        }
    }

    /** Hand-picked corner cases on top of the random draws. */
    static final List<Cfg> EDGES = List.of(
            new Cfg(1, 1, 1, 1, 5, 5, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, false),   // batch 1, one channel, 1x1
            new Cfg(1, 1, 2, 1, 7, 8, 1, 1, 3, 3, 0, 0, 0, 0, 1, 1, true),    // stride larger than the kernel
            new Cfg(2, 2, 3, 1, 5, 6, 3, 2, 2, 1, 2, 0, 0, 1, 1, 1, true),    // padding on one side only
            new Cfg(1, 3, 2, 1, 9, 7, 3, 3, 1, 2, 1, 1, 1, 1, 2, 3, false),   // dilation
            new Cfg(2, 4, 6, 2, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, true),    // groups
            new Cfg(1, 4, 4, 4, 6, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true),    // depthwise
            new Cfg(1, 4, 8, 4, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1, 1, false),   // depthwise, multiplier 2
            new Cfg(3, 3, 5, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, true),    // 1x1 image: a matmul
            new Cfg(1, 2, 2, 1, 4, 4, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, true));   // kernel larger than the image

    // ---- independent computations ----

    static double[] random(Random r, long size) {
        double[] a = new double[Math.toIntExact(size)];
        for (int i = 0; i < a.length; i++) a[i] = r.nextDouble() * 2 - 1;
        return a;
    }

    /** Rounds to float when the graph runs in float: the oracle then sees the same inputs as the kernel. */
    static double[] as(DType t, double[] a) {
        double[] b = a.clone();
        if (t == DType.F32) for (int i = 0; i < b.length; i++) b[i] = (float) b[i];
        return b;
    }

    /** The convolution by definition: copy x into a zero-padded buffer, spread w into a dilated kernel, correlate. */
    static double[] naiveConv(Cfg c, double[] x, double[] w, double[] b) {
        int hp = c.hp(), wp = c.wp(), kh = c.khd(), kw = c.kwd(), cg = c.c / c.g, og = c.o / c.g;
        double[] xp = new double[c.n * c.c * hp * wp];
        for (int n = 0; n < c.n; n++)
            for (int ch = 0; ch < c.c; ch++)
                for (int i = 0; i < c.h; i++)
                    for (int j = 0; j < c.w; j++)
                        xp[((n * c.c + ch) * hp + i + c.pt) * wp + j + c.pl] = x[((n * c.c + ch) * c.h + i) * c.w + j];
        double[] wd = new double[c.o * cg * kh * kw];
        for (int o = 0; o < c.o; o++)
            for (int ch = 0; ch < cg; ch++)
                for (int u = 0; u < c.kh; u++)
                    for (int v = 0; v < c.kw; v++)
                        wd[((o * cg + ch) * kh + u * c.dh) * kw + v * c.dw] = w[((o * cg + ch) * c.kh + u) * c.kw + v];
        int ho = (hp - kh) / c.sh + 1, wo = (wp - kw) / c.sw + 1;
        double[] y = new double[c.n * c.o * ho * wo];
        for (int n = 0; n < c.n; n++)
            for (int o = 0; o < c.o; o++)
                for (int i = 0; i < ho; i++)
                    for (int j = 0; j < wo; j++) {
                        double s = b == null ? 0 : b[o];
                        for (int ch = 0; ch < cg; ch++) {
                            int ci = (o / og) * cg + ch;
                            for (int u = 0; u < kh; u++)
                                for (int v = 0; v < kw; v++)
                                    s += xp[((n * c.c + ci) * hp + i * c.sh + u) * wp + j * c.sw + v]
                                            * wd[((o * cg + ch) * kh + u) * kw + v];
                        }
                        y[((n * c.o + o) * ho + i) * wo + j] = s;
                    }
        return y;
    }

    /**
     * The transposed convolution by definition, PyTorch layout: x[n, cin, h, w], w[cin, cout/g, kh, kw]; every input
     * pixel scatters its kernel-weighted copy onto the output at (i*s - pad + u*d, j*s - pad + v*d).
     */
    static double[] naiveConvTranspose(int n, int cin, int coutG, int g, int h, int w, int kh, int kw, int sh, int sw,
                                       int pt, int pl, int pb, int pr, int oph, int opw, int dh, int dw,
                                       double[] x, double[] wt, double[] b, int[] outHW) {
        int ho = (h - 1) * sh - pt - pb + dh * (kh - 1) + oph + 1, wo = (w - 1) * sw - pl - pr + dw * (kw - 1) + opw + 1;
        outHW[0] = ho;
        outHW[1] = wo;
        int cout = coutG * g, cinG = cin / g;
        double[] y = new double[n * cout * ho * wo];
        for (int s = 0; s < n; s++)
            for (int oc = 0; oc < cout; oc++)
                for (int k = 0; k < ho * wo; k++) y[(s * cout + oc) * ho * wo + k] = b == null ? 0 : b[oc];
        for (int s = 0; s < n; s++)
            for (int ci = 0; ci < cin; ci++)
                for (int i = 0; i < h; i++)
                    for (int j = 0; j < w; j++)
                        for (int ocl = 0; ocl < coutG; ocl++)
                            for (int u = 0; u < kh; u++)
                                for (int v = 0; v < kw; v++) {
                                    int r = i * sh - pt + u * dh, q = j * sw - pl + v * dw;
                                    if (r < 0 || r >= ho || q < 0 || q >= wo) continue;
                                    int oc = (ci / cinG) * coutG + ocl;
                                    y[((s * cout + oc) * ho + r) * wo + q] += x[((s * cin + ci) * h + i) * w + j]
                                            * wt[((ci * coutG + ocl) * kh + u) * kw + v];
                                }
        return y;
    }

    // ---- running graphs ----

    static Tensor tensor(DType t, Shape s, double[] data) {
        Tensor x = Tensor.zeros(t, s);
        for (int i = 0; i < data.length; i++) x.set(i, data[i]);
        return x;
    }

    static void assertClose(double[] expected, Tensor actual, double tol, String what) {
        assertEquals(expected.length, actual.size(), what + ": size");
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual.get(i);
            if (Math.abs(e - a) > tol * (1 + Math.abs(e)))
                throw new AssertionError(what + ": element " + i + " expected " + e + ", got " + a);
        }
    }

    static double tol(DType t) { return t == DType.F32 ? 1e-6 : 1e-12; }

    /** Runs the Conv2d of {@code c} on the reference backend and checks it against {@link #naiveConv}. */
    static void checkConvForward(Cfg c, DType t, long seed) {
        Random r = new Random(seed);
        double[] x = as(t, random(r, c.x().size())), w = as(t, random(r, c.weight().size()));
        double[] b = c.bias ? as(t, random(r, c.o)) : null;
        var gb = new GraphBuilder(t, false);
        Value xv = gb.input("x", c.x()), wv = gb.input("w", c.weight()), bv = c.bias ? gb.input("b", c.o) : null;
        gb.output("y", gb.conv2d(xv, wv, bv, c.spec()));
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        feeds.put("x", tensor(t, c.x(), x));
        feeds.put("w", tensor(t, c.weight(), w));
        if (c.bias) feeds.put("b", tensor(t, Shape.of(c.o), b));
        try (Session s = Session.open(Compiler.compile(gb.build()))) {
            Tensor y = s.run(feeds).get("y");
            assertEquals(Shape.of(c.n, c.o, (c.hp() - c.khd()) / c.sh + 1, (c.wp() - c.kwd()) / c.sw + 1), y.shape(),
                    c.toString());
            assertClose(naiveConv(c, x, w, b), y, tol(t), c.toString());
        }
    }

    // ---- forward ----

    @Test
    void conv2dOfAHandComputedCase() {
        // 3x3 image 1..9, 2x2 kernel [[1, 0], [0, 10]], bias 0.5: each output is x[i][j] + 10*x[i+1][j+1] + 0.5.
        var gb = new GraphBuilder(DType.F64, false);
        Value x = gb.input("x", 1, 1, 3, 3), w = gb.input("w", 1, 1, 2, 2), b = gb.input("b", 1);
        gb.output("y", gb.conv2d(x, w, b, null));
        try (Session s = Session.open(Compiler.compile(gb.build()))) {
            Tensor y = s.run(Map.of("x", Tensor.of(Shape.of(1, 1, 3, 3), 1, 2, 3, 4, 5, 6, 7, 8, 9.0),
                    "w", Tensor.of(Shape.of(1, 1, 2, 2), 1, 0, 0, 10.0), "b", Tensor.of(Shape.of(1), 0.5))).get("y");
            assertEquals(Shape.of(1, 1, 2, 2), y.shape());
            assertArrayEquals(new double[]{51.5, 62.5, 84.5, 95.5}, y.toDoubleArray());
        }
    }

    @Test
    void conv2dMatchesTheNaiveConvolutionOnEdgeCases() {
        for (int i = 0; i < EDGES.size(); i++) {
            checkConvForward(EDGES.get(i), DType.F64, i);
            checkConvForward(EDGES.get(i), DType.F32, i);
        }
    }

    @Property(tries = 150)
    void conv2dMatchesTheNaiveConvolution(@ForAll long seed, @ForAll boolean f32) {
        checkConvForward(randomCfg(new Random(seed), 9), f32 ? DType.F32 : DType.F64, seed);
    }

    /**
     * The transposed convolution against the scatter definition, and as the adjoint of the convolution with the
     * same attributes: {@code <conv(x, w), y> == <x, convTranspose(y, w)>}, with the output padding that takes
     * y back to x's size. Conv2dBackwardData computes the same map, and Conv2dBackwardFilter the same form's
     * gradient in w.
     */
    static void checkTransposeAndAdjoint(Cfg c, long seed) {
        Random r = new Random(seed);
        int ho = (c.hp() - c.khd()) / c.sh + 1, wo = (c.wp() - c.kwd()) / c.sw + 1;
        int oph = (c.hp() - c.khd()) % c.sh, opw = (c.wp() - c.kwd()) % c.sw;   // rows the floor dropped
        Shape ys = Shape.of(c.n, c.o, ho, wo);
        double[] x = random(r, c.x().size()), w = random(r, c.weight().size()), y = random(r, ys.size());
        double[] b = c.bias ? random(r, c.c) : null;
        var gb = new GraphBuilder(DType.F64, false);
        Value xv = gb.input("x", c.x()), wv = gb.input("w", c.weight()), yv = gb.input("y", ys);
        Value bv = c.bias ? gb.input("b", c.c) : null;
        ConvSpec spec = c.spec().outputPadding(oph, opw);
        gb.output("conv", gb.conv2d(xv, wv, null, spec));
        gb.output("t", gb.convTranspose2d(yv, wv, bv, spec));
        Conv2d conv = new Conv2d(c.sh, c.sw, c.pt, c.pl, c.pb, c.pr, c.dh, c.dw, c.g);
        gb.output("bd", gb.apply("bd", conv.backwardData(c.h, c.w), yv, wv));
        gb.output("bf", gb.apply("bf", conv.backwardFilter(c.kh, c.kw), xv, yv));
        Map<String, Tensor> feeds = new LinkedHashMap<>(Map.of("x", tensor(DType.F64, c.x(), x),
                "w", tensor(DType.F64, c.weight(), w), "y", tensor(DType.F64, ys, y)));
        if (c.bias) feeds.put("b", tensor(DType.F64, Shape.of(c.c), b));
        try (Session s = Session.open(Compiler.compile(gb.build()))) {
            Map<String, Tensor> out = s.run(feeds);
            Tensor t = out.get("t");
            assertEquals(c.x(), t.shape(), c.toString());
            int[] hw = new int[2];
            double[] expected = naiveConvTranspose(c.n, c.o, c.c / c.g, c.g, ho, wo, c.kh, c.kw, c.sh, c.sw,
                    c.pt, c.pl, c.pb, c.pr, oph, opw, c.dh, c.dw, y, w, b, hw);
            assertClose(expected, t, 1e-12, "transposed vs scatter " + c);
            double[] unbiased = naiveConvTranspose(c.n, c.o, c.c / c.g, c.g, ho, wo, c.kh, c.kw, c.sh, c.sw,
                    c.pt, c.pl, c.pb, c.pr, oph, opw, c.dh, c.dw, y, w, null, hw);
            assertClose(unbiased, out.get("bd"), 1e-12, "backward data vs scatter " + c);
            double lhs = 0, rhs = 0;
            Tensor convOut = out.get("conv");
            for (int i = 0; i < y.length; i++) lhs += convOut.get(i) * y[i];
            for (int i = 0; i < x.length; i++) rhs += x[i] * out.get("bd").get(i);
            assertEquals(lhs, rhs, 1e-10 * (1 + Math.abs(lhs)), "adjoint identity " + c);
            // The same form is linear in w: <conv(x, w), y> == <w, backwardFilter(x, y)>.
            double viaFilter = 0;
            for (int i = 0; i < w.length; i++) viaFilter += w[i] * out.get("bf").get(i);
            assertEquals(lhs, viaFilter, 1e-10 * (1 + Math.abs(lhs)), "filter adjoint identity " + c);
        }
    }

    @Test
    void convTransposeIsTheAdjointOfConvOnEdgeCases() {
        for (int i = 0; i < EDGES.size(); i++) checkTransposeAndAdjoint(EDGES.get(i), i);
    }

    @Property(tries = 100)
    void convTransposeIsTheAdjointOfConv(@ForAll long seed) {
        checkTransposeAndAdjoint(randomCfg(new Random(seed), 9), seed);
    }

    @Property(tries = 60)
    void convTransposeMatchesTheScatterWithAnyOutputPadding(@ForAll long seed) {
        // Output padding up to max(stride, dilation) - 1, end padding as drawn: shapes the adjoint check above
        // does not reach (the output padding is chosen freely, not to invert a convolution).
        Random r = new Random(seed);
        int g = 1 + r.nextInt(2), cin = g * (1 + r.nextInt(2)), coutG = 1 + r.nextInt(2);
        int h = 1 + r.nextInt(5), w = 1 + r.nextInt(5), kh = 1 + r.nextInt(3), kw = 1 + r.nextInt(3);
        int sh = 1 + r.nextInt(3), sw = 1 + r.nextInt(3), dh = 1 + r.nextInt(3), dw = 1 + r.nextInt(3);
        int pt = r.nextInt(2), pl = r.nextInt(2), pb = r.nextInt(3), pr = r.nextInt(3);
        int oph = r.nextInt(Math.max(sh, dh)), opw = r.nextInt(Math.max(sw, dw));
        int ho = (h - 1) * sh - pt - pb + dh * (kh - 1) + oph + 1, wo = (w - 1) * sw - pl - pr + dw * (kw - 1) + opw + 1;
        if (ho < 1 || wo < 1) return;
        boolean bias = r.nextBoolean();
        Shape xs = Shape.of(1 + r.nextInt(2), cin, h, w), ws = Shape.of(cin, coutG, kh, kw);
        double[] x = random(r, xs.size()), wt = random(r, ws.size()), b = bias ? random(r, coutG * g) : null;
        var gb = new GraphBuilder(DType.F64, false);
        Value xv = gb.input("x", xs), wv = gb.input("w", ws), bv = bias ? gb.input("b", coutG * g) : null;
        gb.output("y", gb.convTranspose2d(xv, wv, bv, ConvSpec.defaults().stride(sh, sw).pad(pt, pl, pb, pr)
                .dilation(dh, dw).groups(g).outputPadding(oph, opw)));
        Map<String, Tensor> feeds = new LinkedHashMap<>(Map.of("x", tensor(DType.F64, xs, x), "w", tensor(DType.F64, ws, wt)));
        if (bias) feeds.put("b", tensor(DType.F64, Shape.of(coutG * g), b));
        try (Session s = Session.open(Compiler.compile(gb.build()))) {
            Tensor y = s.run(feeds).get("y");
            int[] hw = new int[2];
            double[] expected = naiveConvTranspose(xs.dim(0), cin, coutG, g, h, w, kh, kw, sh, sw, pt, pl, pb, pr,
                    oph, opw, dh, dw, x, wt, b, hw);
            assertEquals(Shape.of(xs.dim(0), coutG * g, hw[0], hw[1]), y.shape());
            assertClose(expected, y, 1e-12, "transposed vs scatter");
        }
    }

    @Test
    void biasGradSumsOverEverythingButTheChannel() {
        var gb = new GraphBuilder(DType.F64, false);
        Value dy = gb.input("dy", 2, 3, 1, 2);
        gb.output("db", gb.apply("db", new BiasGrad(), dy));
        gb.output("bb", gb.apply("bb", new BiasBroadcast(new int[]{2, 3, 1, 2}), gb.input("b", 3)));
        try (Session s = Session.open(Compiler.compile(gb.build()))) {
            double[] d = new double[12];
            for (int i = 0; i < 12; i++) d[i] = i;   // [n][c][w] = 6n + 2c + w
            Map<String, Tensor> out = s.run(Map.of("dy", Tensor.of(Shape.of(2, 3, 1, 2), d),
                    "b", Tensor.of(Shape.of(3), 10, 20, 30.0)));
            // channel c: (2c) + (2c+1) + (6+2c) + (7+2c) = 8c + 14
            assertArrayEquals(new double[]{14, 22, 30}, out.get("db").toDoubleArray());
            assertArrayEquals(new double[]{10, 10, 20, 20, 30, 30, 10, 10, 20, 20, 30, 30}, out.get("bb").toDoubleArray());
        }
    }

    // ---- gradients ----

    @Property(tries = 40)
    void conv2dGradientsMatchFiniteDifferences(@ForAll long seed) {
        Cfg c = randomCfg(new Random(seed), 6);
        List<Shape> shapes = new ArrayList<>(List.of(c.x(), c.weight()));
        if (c.bias) shapes.add(Shape.of(c.o));
        GradCheck.check(shapes, GradCheck.randomInputs(shapes, seed),
                (gb, xs) -> List.of(gb.conv2d(xs.get(0), xs.get(1), c.bias ? xs.get(2) : null, c.spec())),
                seed, 1e-6, 1e-6, 25);
    }

    @Test
    void conv2dGradientsOnEdgeCases() {
        for (Cfg c : EDGES) {
            List<Shape> shapes = new ArrayList<>(List.of(c.x(), c.weight()));
            if (c.bias) shapes.add(Shape.of(c.o));
            GradCheck.check(shapes, GradCheck.randomInputs(shapes, 5),
                    (gb, xs) -> List.of(gb.conv2d(xs.get(0), xs.get(1), c.bias ? xs.get(2) : null, c.spec())),
                    5, 1e-6, 1e-6, 25);
        }
    }

    @Property(tries = 40)
    void convTranspose2dGradientsMatchFiniteDifferences(@ForAll long seed) {
        Random r = new Random(seed);
        int g = 1 + r.nextInt(2), cin = g * (1 + r.nextInt(2)), coutG = 1 + r.nextInt(3);
        int h = 1 + r.nextInt(4), w = 1 + r.nextInt(4), kh = 1 + r.nextInt(3), kw = 1 + r.nextInt(3);
        int sh = 1 + r.nextInt(3), sw = 1 + r.nextInt(3), dh = 1 + r.nextInt(3), dw = 1 + r.nextInt(2);
        int pt = r.nextInt(2), pl = r.nextInt(2), pb = r.nextInt(3), pr = r.nextInt(2);
        int oph = r.nextInt(Math.max(sh, dh)), opw = r.nextInt(Math.max(sw, dw));
        int ho = (h - 1) * sh - pt - pb + dh * (kh - 1) + oph + 1, wo = (w - 1) * sw - pl - pr + dw * (kw - 1) + opw + 1;
        // Skip empty outputs, and output padding past stride + end padding, which has no adjoint convolution.
        if (ho < 1 || wo < 1 || oph - pb >= sh || opw - pr >= sw) return;
        boolean bias = r.nextBoolean();
        ConvSpec spec = ConvSpec.defaults().stride(sh, sw).pad(pt, pl, pb, pr).dilation(dh, dw).groups(g)
                .outputPadding(oph, opw);
        List<Shape> shapes = new ArrayList<>(List.of(Shape.of(1 + r.nextInt(2), cin, h, w), Shape.of(cin, coutG, kh, kw)));
        if (bias) shapes.add(Shape.of(coutG * g));
        GradCheck.check(shapes, GradCheck.randomInputs(shapes, seed),
                (gb, xs) -> List.of(gb.convTranspose2d(xs.get(0), xs.get(1), bias ? xs.get(2) : null, spec)),
                seed, 1e-6, 1e-6, 25);
    }

    @Test
    void convTranspose2dGradientsWithOutputPaddingBeyondTheStride() {
        // Dilation 3 > stride 1 allows output padding 2; the adjoint convolution lowers its end padding to match.
        ConvSpec spec = ConvSpec.defaults().stride(1, 2).pad(0, 1, 2, 0).dilation(3, 3).outputPadding(2, 1);
        List<Shape> shapes = List.of(Shape.of(2, 2, 3, 4), Shape.of(2, 3, 2, 2), Shape.of(3));
        GradCheck.check(shapes, GradCheck.randomInputs(shapes, 11),
                (gb, xs) -> List.of(gb.convTranspose2d(xs.get(0), xs.get(1), xs.get(2), spec)), 11, 1e-6, 1e-6, 60);
    }

    @Property(tries = 20)
    void gradientOpsAreDifferentiableToo(@ForAll long seed) {
        // The data and filter gradients are bilinear and differentiate into each other; check them directly.
        Cfg c = randomCfg(new Random(seed), 5);
        Conv2d conv = new Conv2d(c.sh, c.sw, c.pt, c.pl, c.pb, c.pr, c.dh, c.dw, c.g);
        Shape ys = conv.inferShapes(List.of(c.x(), c.weight())).getFirst();
        Conv2dBackwardData bd = conv.backwardData(c.h, c.w);
        Conv2dBackwardFilter bf = conv.backwardFilter(c.kh, c.kw);
        GradCheck.check(List.of(ys, c.weight()), GradCheck.randomInputs(List.of(ys, c.weight()), seed),
                (gb, xs) -> List.of(gb.apply("bd", bd, xs.get(0), xs.get(1))), seed, 1e-6, 1e-6, 20);
        GradCheck.check(List.of(c.x(), ys), GradCheck.randomInputs(List.of(c.x(), ys), seed),
                (gb, xs) -> List.of(gb.apply("bf", bf, xs.get(0), xs.get(1))), seed, 1e-6, 1e-6, 20);
        GradCheck.check(List.of(ys), GradCheck.randomInputs(List.of(ys), seed),
                (gb, xs) -> List.of(gb.apply("db", new BiasGrad(), xs.get(0))), seed, 1e-6, 1e-6, 20);
        GradCheck.check(List.of(Shape.of(c.o)), GradCheck.randomInputs(List.of(Shape.of(c.o)), seed),
                (gb, xs) -> List.of(gb.apply("bb", new BiasBroadcast(ys.dims()), xs.get(0))), seed, 1e-6, 1e-6, 20);
    }

    @Test
    void secondOrderGradientsThroughConv2d() {
        // f(x, w, b) = (dL/dx, dL/dw, dL/db) of L = sum(conv(x, w, b)^2): differentiating f needs the backward of
        // every gradient op, and the check compares it with finite differences of f.
        Cfg c = new Cfg(2, 4, 4, 2, 5, 4, 3, 2, 2, 1, 1, 0, 1, 1, 1, 2, true);
        List<Shape> shapes = List.of(c.x(), c.weight(), Shape.of(c.o));
        var result = GradCheck.check(shapes, GradCheck.randomInputs(shapes, 3), (gb, xs) -> {
            Value y = gb.conv2d(xs.get(0), xs.get(1), xs.get(2), c.spec());
            Value loss = gb.apply("l", new SumTo(new int[0]), gb.apply("sq", new Binary(Binary.Kind.MUL), y, y));
            Map<Value, Value> grads = Autodiff.gradients(gb, loss, xs);
            return List.of(grads.get(xs.get(0)), grads.get(xs.get(1)), grads.get(xs.get(2)));
        }, 3, 1e-6, 1e-6, 40);
        assertTrue(result.checked() >= 3 * 20, "checked " + result.checked());
    }
}
