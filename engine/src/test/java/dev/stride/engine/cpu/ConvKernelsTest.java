package dev.stride.engine.cpu;

import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Autodiff;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.BatchNorm2dInfer;
import dev.stride.graph.op.BiasGrad;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Conv2dBackwardData;
import dev.stride.graph.op.Conv2dBackwardFilter;
import dev.stride.graph.op.ConvTranspose2d;
import dev.stride.graph.op.SumTo;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static dev.stride.engine.cpu.ConvTesting.floats;

/**
 * The GEMM convolution kernels (Conv2d im2col and 1x1, its data and filter gradients, ConvTranspose2d, BiasGrad)
 * against the float64 reference through {@link CrossBackend}, over random geometries: batch 1..3, one channel,
 * odd sizes, kernels 1..5, strides 1..3 (also above the kernel), one-sided padding, dilation 1..3, groups
 * (depthwise shapes included, forced through im2col), threads 1 and 2. Half the draws shrink the column-tile
 * budget so that the small shapes here still split into several tiles. Plus fused conv + batch norm +
 * activation, bit-identical results for 1 and 2 threads on shapes large enough to be split, and the im2col /
 * col2im building blocks in both their SIMD and scalar paths.
 */
class ConvKernelsTest {

    /** A convolution x[n, c, h, w] * w[o, c/g, kh, kw]; for a transposed one x[n, c, h, w] -> [n, o, ...]. */
    record Cfg(int n, int c, int o, int g, int h, int w, int kh, int kw, int sh, int sw,
               int pt, int pl, int pb, int pr, int dh, int dw, boolean bias) {
        Conv2d conv() { return new Conv2d(sh, sw, pt, pl, pb, pr, dh, dw, g); }

        List<Shape> convShapes() {
            List<Shape> s = new ArrayList<>(List.of(Shape.of(n, c, h, w), Shape.of(o, c / g, kh, kw)));
            if (bias) s.add(Shape.of(o));
            return s;
        }

        int ho() { return Math.floorDiv(h + pt + pb - dh * (kh - 1) - 1, sh) + 1; }

        int wo() { return Math.floorDiv(w + pl + pr - dw * (kw - 1) - 1, sw) + 1; }

        long flops() { return 2L * n * o * (c / g) * kh * kw * ho() * wo(); }
    }

    /**
     * Random valid convolutions; {@code max} bounds the spatial size. A third have "same" width at stride 1 (the
     * shifted im2col), a sixth four times more output than input channels per group (the col2im data gradient
     * at stride 1).
     */
    static Cfg randomConv(Random r, int max) {
        while (true) {
            int g = 1 + r.nextInt(3);
            boolean depthwise = r.nextInt(5) == 0;
            int cg = depthwise ? 1 : 1 + r.nextInt(3), og = depthwise ? 1 : 1 + r.nextInt(3);
            if (!depthwise && r.nextInt(6) == 0) {   // far more output than input channels: the data gradient's col2im form
                cg = 1;
                og = 5 + r.nextInt(2);
            }
            int[] p = new int[4];
            for (int i = 0; i < 4; i++) p[i] = r.nextInt(3) == 0 ? 1 + r.nextInt(2) : 0;
            int kh = 1 + r.nextInt(5), kw = 1 + r.nextInt(5), sh = 1 + r.nextInt(3), sw = 1 + r.nextInt(3);
            int dh = r.nextInt(3) == 0 ? 2 + r.nextInt(2) : 1, dw = r.nextInt(3) == 0 ? 2 + r.nextInt(2) : 1;
            if (r.nextInt(3) == 0) {   // "same" width at stride 1: the shifted im2col path
                sh = sw = 1;
                p[1] = r.nextInt(dw * (kw - 1) + 1);
                p[3] = dw * (kw - 1) - p[1];
            }
            Cfg cfg = new Cfg(1 + r.nextInt(3), cg * g, og * g, g, 1 + r.nextInt(max), 1 + r.nextInt(max),
                    kh, kw, sh, sw, p[0], p[1], p[2], p[3], dh, dw, r.nextBoolean());
            if (cfg.ho() >= 1 && cfg.wo() >= 1) return cfg;
        }
    }

    /** A cpu target that runs every Conv2d with {@code algorithm}, keeping the fusion the heuristic target marks. */
    static Compiler.Target forcing(String algorithm) {
        CpuAlgorithms heuristic = new CpuAlgorithms(CpuBackend.kernels(), true);
        return new Compiler.Target(CpuBackend.NAME, CpuBackend.info(), (graph, schedule) -> {
            List<String> a = new ArrayList<>(heuristic.choose(graph, schedule));
            for (int id : schedule) {
                String e = a.get(id);
                if (!(graph.nodes().get(id).op() instanceof Conv2d) || e.equals(CpuAlgorithms.REFERENCE)
                        || e.startsWith(Plan.FUSED_PREFIX)) continue;
                int plus = e.indexOf('+');
                a.set(id, algorithm + (plus < 0 ? "" : e.substring(plus)));
            }
            return a;
        });
    }

    /**
     * Runs {@code body} with the column-tile budget lowered half the time (several tiles even for tiny shapes),
     * and the batched path ({@link ColumnTiles#slabs}) off a third of the time (each image its own GEMM, the path
     * of batch 1 and of large planes), in slabs of a few images (a narrow minimum slab width, with the lowered
     * budget) or as by default.
     */
    static <T> T withTileBudget(Random r, Supplier<T> body) {
        ColumnTiles.Limits saved = ColumnTiles.limits;
        boolean low = r.nextBoolean();
        int slabMaxPlane = r.nextInt(3) == 0 ? 0 : ColumnTiles.SLAB_MAX_PLANE;
        int slabMinColumns = r.nextBoolean() ? 1 + r.nextInt(300) : ColumnTiles.SLAB_MIN_COLUMNS;
        ColumnTiles.limits = new ColumnTiles.Limits(low ? 64L * (1 + r.nextInt(16)) : ColumnTiles.BUDGET_BYTES,
                low ? 1 : ColumnTiles.MIN_COLUMNS, slabMaxPlane, slabMinColumns);
        try {
            return body.get();
        } finally {
            ColumnTiles.limits = saved;
        }
    }

    private static final Class<?>[] CONV_OPS = {Conv2d.class, Conv2dBackwardData.class, Conv2dBackwardFilter.class,
            BiasGrad.class, ConvTranspose2d.class};

    @Property(tries = 80)
    void im2colForwardMatchesTheReference(@ForAll long seed) {
        Random r = new Random(seed);
        Cfg cfg = randomConv(r, 11);
        int threads = 1 + r.nextInt(2);
        var res = withTileBudget(r, () -> CrossBackend.check(cfg.convShapes(),
                (b, x) -> List.of(b.apply("conv", cfg.conv(), x.toArray(Value[]::new))), seed,
                CrossBackend.Options.forward("conv.im2col", CONV_OPS).withThreads(threads),
                forcing(ConvChooser.IM2COL)));
        assertEquals(ConvChooser.IM2COL, res.algorithms().get("conv"), cfg.toString());
    }

    @Property(tries = 60)
    void gradientsOfTheConvolutionMatchTheReference(@ForAll long seed) {
        Random r = new Random(seed);
        Cfg cfg = randomConv(r, 9);
        int threads = 1 + r.nextInt(2);
        Integer[] wrt = cfg.bias() ? new Integer[] {0, 1, 2} : new Integer[] {0, 1};
        var res = withTileBudget(r, () -> CrossBackend.check(cfg.convShapes(),
                (b, x) -> List.of(b.apply("conv", cfg.conv(), x.toArray(Value[]::new))), seed,
                CrossBackend.Options.forward("conv.backward", CONV_OPS).withGradients(wrt).withThreads(threads),
                forcing(ConvChooser.IM2COL)));
        assertTrue(res.algorithms().containsKey("grad/conv2d_dx") && res.algorithms().containsKey("grad/conv2d_dw"),
                res.algorithms().toString());
    }

    /** 1x1, stride 1, no padding: the heuristic picks the plain GEMM for one group; more groups are forced to it. */
    @Property(tries = 40)
    void pointwiseConvolutionAndItsGradients(@ForAll long seed) {
        Random r = new Random(seed);
        int g = r.nextInt(3) == 0 ? 1 + r.nextInt(3) : 1;
        Cfg cfg = new Cfg(1 + r.nextInt(3), g * (1 + r.nextInt(4)), g * (1 + r.nextInt(7)), g, 1 + r.nextInt(9),
                1 + r.nextInt(9), 1, 1, 1, 1, 0, 0, 0, 0, 1 + r.nextInt(2), 1, r.nextBoolean());
        int threads = 1 + r.nextInt(2);
        boolean grads = r.nextBoolean();
        Integer[] wrt = cfg.bias() ? new Integer[] {0, 1, 2} : new Integer[] {0, 1};
        var o = grads ? CrossBackend.Options.forward("conv.backward", CONV_OPS).withGradients(wrt)
                : CrossBackend.Options.forward("conv.gemm1x1", CONV_OPS);
        var res = withTileBudget(r, () -> CrossBackend.check(cfg.convShapes(),
                (b, x) -> List.of(b.apply("conv", cfg.conv(), x.toArray(Value[]::new))), seed, o.withThreads(threads),
                g == 1 ? new CpuBackend().target() : forcing(ConvChooser.GEMM_1X1)));
        assertEquals(ConvChooser.GEMM_1X1, res.algorithms().get("conv"), cfg.toString());
    }

    /** ConvTranspose2d x[n, c, h, w], w[c, o/g, kh, kw] with output padding below the stride or the dilation. */
    record TCfg(Cfg base, int oph, int opw) {
        ConvTranspose2d op() {
            Cfg b = base;
            return new ConvTranspose2d(b.sh(), b.sw(), b.pt(), b.pl(), b.pb(), b.pr(), oph, opw, b.dh(), b.dw(), b.g());
        }

        List<Shape> shapes() {
            Cfg b = base;
            List<Shape> s = new ArrayList<>(List.of(Shape.of(b.n(), b.c(), b.h(), b.w()),
                    Shape.of(b.c(), b.o() / b.g(), b.kh(), b.kw())));
            if (b.bias()) s.add(Shape.of(b.o()));
            return s;
        }
    }

    static TCfg randomTransposed(Random r, int max) {
        while (true) {
            Cfg b = randomConv(r, max);
            if (r.nextInt(4) == 0) {
                // far more input than output channels: at stride 1 the col2im form; sometimes 1x1 (its plain GEMM)
                boolean one = r.nextBoolean();
                b = new Cfg(b.n(), b.g() * (5 + r.nextInt(2)), b.g(), b.g(), b.h(), b.w(), one ? 1 : b.kh(),
                        one ? 1 : b.kw(), one ? 1 : b.sh(), one ? 1 : b.sw(), one ? 0 : b.pt(), one ? 0 : b.pl(),
                        one ? 0 : b.pb(), one ? 0 : b.pr(), b.dh(), b.dw(), b.bias());
            }
            int oph = r.nextInt(Math.max(b.sh(), b.dh())), opw = r.nextInt(Math.max(b.sw(), b.dw()));
            // The gradient's adjoint convolution needs end padding to absorb an output padding >= the stride.
            if (oph >= b.sh() && b.pb() < oph - b.sh() + 1) oph = 0;
            if (opw >= b.sw() && b.pr() < opw - b.sw() + 1) opw = 0;
            long ho = (long) (b.h() - 1) * b.sh() - b.pt() - b.pb() + (long) b.dh() * (b.kh() - 1) + oph + 1;
            long wo = (long) (b.w() - 1) * b.sw() - b.pl() - b.pr() + (long) b.dw() * (b.kw() - 1) + opw + 1;
            if (ho >= 1 && wo >= 1) return new TCfg(b, oph, opw);
        }
    }

    @Property(tries = 60)
    void transposedConvolutionAndItsGradients(@ForAll long seed) {
        Random r = new Random(seed);
        TCfg cfg = randomTransposed(r, 7);
        int threads = 1 + r.nextInt(2);
        boolean grads = r.nextBoolean();
        Integer[] wrt = cfg.base().bias() ? new Integer[] {0, 1, 2} : new Integer[] {0, 1};
        var o = grads ? CrossBackend.Options.forward("conv.backward", CONV_OPS).withGradients(wrt)
                : CrossBackend.Options.forward("conv.im2col", CONV_OPS);
        withTileBudget(r, () -> CrossBackend.check(cfg.shapes(),
                (b, x) -> List.of(b.apply("convt", cfg.op(), x.toArray(Value[]::new))), seed, o.withThreads(threads),
                forcing(ConvChooser.IM2COL)));
    }

    @Property(tries = 40)
    void convolutionWithBatchNormAndActivationFusesAndMatches(@ForAll long seed) {
        Random r = new Random(seed);
        Cfg cfg = randomConv(r, 9);
        String act = List.of("", "relu", "leaky_relu", "sigmoid").get(r.nextInt(4));
        boolean pointwise = r.nextInt(4) == 0;
        Cfg c = pointwise ? new Cfg(cfg.n(), cfg.c(), cfg.o(), 1, cfg.h(), cfg.w(), 1, 1, 1, 1, 0, 0, 0, 0, 1, 1,
                cfg.bias()) : cfg;
        List<Shape> shapes = new ArrayList<>(c.convShapes());
        int first = shapes.size();
        for (int i = 0; i < 4; i++) shapes.add(Shape.of(c.o()));   // gamma, beta, running mean, running var
        Tensor var = Tensor.zeros(DType.F64, Shape.of(c.o()));
        for (int i = 0; i < c.o(); i++) var.set(i, 0.25 + 2 * r.nextDouble());
        int[] convId = new int[1];
        var res = CrossBackend.check(shapes, (b, x) -> {
            Value y = b.apply("conv", c.conv(), x.subList(0, first).toArray(Value[]::new));
            convId[0] = y.producer();
            y = b.apply("bn", new BatchNorm2dInfer(1e-5), y, x.get(first), x.get(first + 1), x.get(first + 2),
                    x.get(first + 3));
            y = switch (act) {
                case "relu" -> b.relu(y);
                case "leaky_relu" -> b.leakyRelu(y, 0.1);
                case "sigmoid" -> b.sigmoid(y);
                default -> y;
            };
            return List.of(y);
        }, seed, CrossBackend.Options.forward("conv.im2col", CONV_OPS).withInput(first + 3, var)
                .withThreads(1 + r.nextInt(2)), forcing(pointwise ? ConvChooser.GEMM_1X1 : ConvChooser.IM2COL));
        String algorithm = pointwise ? ConvChooser.GEMM_1X1 : ConvChooser.IM2COL;
        assertEquals(algorithm + "+bn" + (act.isEmpty() ? "" : "+" + act), res.algorithms().get("conv"));
        assertEquals(Plan.FUSED_PREFIX + convId[0], res.algorithms().get("bn"));
        if (!act.isEmpty()) {
            String actNode = res.algorithms().keySet().stream().filter(k -> !k.equals("conv") && !k.equals("bn"))
                    .findFirst().orElseThrow();
            assertEquals(Plan.FUSED_PREFIX + convId[0], res.algorithms().get(actNode));
        }
    }

    /**
     * Convolutions whose kernel covers the input exactly (one output pixel, no start padding: a DCGAN
     * discriminator's head), forward and gradients, so that all three run as dense GEMMs over the batch
     * ({@link ConvGeometry#dense()}); and ConvTranspose2d from a 1x1 input (a DCGAN generator's first layer), the
     * same GEMM in the other direction, sometimes with output padding (then not dense: the batched col2im with
     * one-pixel planes). Batch 1..5, groups, end padding and strides that leave one pixel, bias.
     */
    @Property(tries = 60)
    void denseConvolutionsAndTransposedFromOnePixel(@ForAll long seed) {
        Random r = new Random(seed);
        int g = r.nextInt(3) == 0 ? 2 : 1, n = 1 + r.nextInt(5), h = 1 + r.nextInt(6), w = 1 + r.nextInt(6);
        int c = g * (1 + r.nextInt(4)), o = g * (1 + r.nextInt(5));
        int threads = 1 + r.nextInt(2);
        boolean bias = r.nextBoolean();
        Integer[] wrt = bias ? new Integer[] {0, 1, 2} : new Integer[] {0, 1};
        var opts = CrossBackend.Options.forward("conv.backward", CONV_OPS).withGradients(wrt).withThreads(threads);
        if (r.nextBoolean()) {
            int pb = r.nextInt(2), pr = r.nextInt(2);      // end padding that the stride skips: still one pixel
            Cfg cfg = new Cfg(n, c, o, g, h, w, h, w, 1 + pb + r.nextInt(2), 1 + pr + r.nextInt(2), 0, 0, pb, pr, 1, 1,
                    bias);
            assertEquals(1, cfg.ho() * cfg.wo(), cfg.toString());
            assertTrue(geometry(cfg).dense(), cfg.toString());
            withTileBudget(r, () -> CrossBackend.check(cfg.convShapes(),
                    (b, x) -> List.of(b.apply("conv", cfg.conv(), x.toArray(Value[]::new))), seed, opts,
                    forcing(ConvChooser.IM2COL)));
        } else {
            int s = 1 + r.nextInt(2), oph = r.nextInt(4) == 0 ? s - 1 : 0;
            TCfg cfg = new TCfg(new Cfg(n, c, o, g, 1, 1, h, w, s, s, 0, 0, 0, 0, 1, 1, bias), oph, oph);
            withTileBudget(r, () -> CrossBackend.check(cfg.shapes(),
                    (b, x) -> List.of(b.apply("convt", cfg.op(), x.toArray(Value[]::new))), seed, opts,
                    forcing(ConvChooser.IM2COL)));
        }
    }

    /** A plan compiled for the reference target has "" for its convolutions: the cpu backend chooses at load. */
    @Test
    void aPlanWithoutAlgorithmChoicesRunsOnTheCpuKernels() {
        Random r = new Random(7);
        GraphBuilder b = new GraphBuilder(DType.F32, false, 7);
        Value x = b.input("x", 2, 3, 9, 9), w = b.input("w", 4, 3, 3, 3), w1 = b.input("w1", 5, 4, 1, 1);
        Value y = b.apply("c1", new Conv2d(1, 1, 1, 1, 1, 1, 1, 1, 1), x, w);
        b.output("y", b.apply("c2", new Conv2d(1, 1, 0, 0, 0, 0, 1, 1, 1), y, w1));
        Plan plan = Compiler.compile(b.build());
        Map<String, Tensor> feeds = randomFeeds(r, Map.of("x", Shape.of(2, 3, 9, 9), "w", Shape.of(4, 3, 3, 3),
                "w1", Shape.of(5, 4, 1, 1)));
        try (Session cpu = Session.open(plan, "cpu", SessionOptions.defaults());
             Session ref = Session.open(plan, "reference", SessionOptions.defaults())) {
            for (var n : plan.scheduledNodes()) assertEquals("", cpu.algorithm(n.id()));
            Tensor got = cpu.run(feeds).get("y"), want = ref.run(feeds).get("y");
            var tol = Tolerances.of("conv.im2col");
            for (long i = 0; i < want.size(); i++)
                assertEquals(want.get(i), got.get(i), tol.atol() + tol.rtol() * Math.abs(want.get(i)));
        }
    }

    // ---- bit-identical results for any thread count ----

    /** Shapes big enough that the kernels really split (every share >= 8 MFLOP); forward and every gradient. */
    @Property(tries = 8)
    void oneAndTwoThreadsGiveIdenticalBits(@ForAll long seed) {
        Random r = new Random(seed);
        Cfg cfg;
        do {
            int g = 1 + r.nextInt(2);
            cfg = new Cfg(1 + r.nextInt(3), g * (4 + r.nextInt(12)), g * (8 + r.nextInt(24)), g, 16 + r.nextInt(24),
                    16 + r.nextInt(24), 1 + r.nextInt(3), 1 + r.nextInt(3), 1 + r.nextInt(2), 1 + r.nextInt(2),
                    r.nextInt(2), r.nextInt(2), r.nextInt(2), r.nextInt(2), 1 + r.nextInt(2), 1, r.nextBoolean());
        } while (cfg.flops() < 4 * CpuRuntime.MIN_FLOP_PER_THREAD);
        Cfg c = cfg;
        withTileBudget(r, () -> {
            assertSameBitsForOneAndTwoThreads(c, r.nextLong());
            return null;
        });
    }

    /** One image, one tile, one group: the item's GEMM itself is split over the threads. */
    @Test
    void aSingleLargeItemSplitsItsGemmWithIdenticalBits() {
        assertSameBitsForOneAndTwoThreads(new Cfg(1, 256, 128, 1, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, true), 11);
        assertSameBitsForOneAndTwoThreads(new Cfg(1, 128, 256, 1, 8, 8, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, false), 12);
    }

    /**
     * The batched paths on DCGAN-like layers large enough to split: the dense GEMMs of a 7x7 head on a 7x7 map
     * (one slab; each GEMM split by the runtime), a stride-2 layer to 7x7 (several slabs shared out) and the same
     * in one slab, whose GEMM is split instead.
     */
    @Test
    void batchedPathsGiveIdenticalBitsForOneAndTwoThreads() {
        assertSameBitsForOneAndTwoThreads(new Cfg(64, 128, 32, 1, 7, 7, 7, 7, 1, 1, 0, 0, 0, 0, 1, 1, true), 13);
        assertSameBitsForOneAndTwoThreads(new Cfg(16, 32, 64, 1, 14, 14, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, true), 14);
        ColumnTiles.Limits saved = ColumnTiles.limits;
        ColumnTiles.limits = new ColumnTiles.Limits(ColumnTiles.BUDGET_BYTES, ColumnTiles.MIN_COLUMNS,
                ColumnTiles.SLAB_MAX_PLANE, 16 * 49);
        try {
            assertSameBitsForOneAndTwoThreads(new Cfg(16, 32, 64, 1, 14, 14, 4, 4, 2, 2, 1, 1, 1, 1, 1, 1, false), 15);
        } finally {
            ColumnTiles.limits = saved;
        }
    }

    private static void assertSameBitsForOneAndTwoThreads(Cfg cfg, long seed) {
        GraphBuilder b = new GraphBuilder(DType.F32, true, seed);
        Value x = b.input("x", cfg.n(), cfg.c(), cfg.h(), cfg.w()), w = b.input("w", cfg.o(), cfg.c() / cfg.g(), cfg.kh(), cfg.kw());
        Value bias = cfg.bias() ? b.input("b", cfg.o()) : null;
        Value y = bias == null ? b.apply("conv", cfg.conv(), x, w) : b.apply("conv", cfg.conv(), x, w, bias);
        Value rIn = b.input("r", y.shape());
        Value loss = b.apply("loss", new SumTo(new int[0]), b.apply("mul", new Binary(Binary.Kind.MUL), y, rIn));
        b.output("y", y);
        List<Value> wrt = bias == null ? List.of(x, w) : List.of(x, w, bias);
        for (var e : Autodiff.gradients(b, loss, wrt).entrySet()) b.output("grad_" + e.getKey().name(), e.getValue());
        Plan plan = Compiler.compile(b.build(), forcing(ConvChooser.IM2COL));
        Map<String, Shape> shapes = new LinkedHashMap<>();
        for (Value v : List.of(x, w, rIn)) shapes.put(v.name(), v.shape());
        if (bias != null) shapes.put("b", bias.shape());
        Map<String, Tensor> feeds = randomFeeds(new Random(seed), shapes);
        Map<String, Tensor> one, two;
        try (Session s = Session.open(plan, "cpu", SessionOptions.defaults().withThreads(1))) {
            one = s.run(feeds);
            for (var n : plan.scheduledNodes())
                if (n.op() instanceof Conv2d || n.op() instanceof Conv2dBackwardData || n.op() instanceof Conv2dBackwardFilter)
                    assertTrue(!s.algorithm(n.id()).equals(CpuAlgorithms.REFERENCE), n.name());
        }
        try (Session s = Session.open(plan, "cpu", SessionOptions.defaults().withThreads(2))) {
            s.run(feeds);                        // a second run too: packed weights are reused, not re-derived
            two = s.run(feeds);
        }
        for (String name : one.keySet()) {
            Tensor p = one.get(name), q = two.get(name);
            for (long i = 0; i < p.size(); i++)
                if (Float.floatToRawIntBits((float) p.get(i)) != Float.floatToRawIntBits((float) q.get(i)))
                    fail(name + " differs at " + i + " between 1 and 2 threads: " + p.get(i) + " vs " + q.get(i) + " (" + cfg + ")");
        }
    }

    private static Map<String, Tensor> randomFeeds(Random r, Map<String, Shape> shapes) {
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        for (var e : shapes.entrySet()) {
            Tensor t = Tensor.zeros(DType.F32, e.getValue());
            for (long i = 0; i < t.size(); i++) t.set(i, (float) (r.nextDouble() * 2 - 1));
            feeds.put(e.getKey(), t);
        }
        return feeds;
    }

    // ---- building blocks, SIMD and scalar ----

    /** im2col against the formula, every tile of rows and columns, with and without SIMD. */
    @Property(tries = 60)
    void im2colWritesTheInputValueEachTapReads(@ForAll long seed) {
        Random r = new Random(seed);
        Cfg cfg = randomConv(r, 40);
        ConvGeometry g = geometry(cfg);
        int grp = r.nextInt(cfg.g()), img = r.nextInt(cfg.n());
        int r0 = r.nextInt(g.k), r1 = r0 + 1 + r.nextInt(g.k - r0), j0 = r.nextInt(g.plane),
                j1 = j0 + 1 + r.nextInt(g.plane - j0), ld = j1 - j0 + r.nextInt(3);
        java.lang.foreign.MemorySegment x = random(r, (long) g.n * g.c * g.h * g.w);
        for (boolean simd : new boolean[] {true, false}) {
            java.lang.foreign.MemorySegment col = random(r, (long) (r1 - r0) * ld);
            Im2col.fill(g, x, g.xAt(img, grp), r0, r1, j0, j1, col, 0, ld, simd);
            for (int row = r0; row < r1; row++)
                for (int j = j0; j < j1; j++)
                    assertEquals(naive(g, x, img, grp, row, j), col.getAtIndex(F, (long) (row - r0) * ld + j - j0),
                            "row " + row + " column " + j + " simd " + simd + " " + g);
        }
    }

    /**
     * im2col written straight into packed-B panels is the operand the row-major tile is: a GEMM with either gives
     * the same product, for a GEMM with small K blocks (so that K spans several) and the scalar kernel's geometry.
     */
    @Property(tries = 80)
    void im2colIntoPanelsIsTheSameOperandAsTheRowMajorTile(@ForAll long seed) {
        Random r = new Random(seed);
        Cfg cfg;
        do cfg = randomConv(r, 40); while (!geometry(cfg).shifted());
        ConvGeometry g = geometry(cfg);
        boolean simd = r.nextBoolean();
        Sgemm gemm = (simd ? Sgemm.create() : Sgemm.scalar()).withBlocking(1 + r.nextInt(20), 64, 2048, 8_000_000);
        int grp = r.nextInt(cfg.g()), img = r.nextInt(cfg.n());
        int j0 = r.nextInt(g.plane), j1 = j0 + 1 + r.nextInt(g.plane - j0), nt = j1 - j0, m = 1 + r.nextInt(9);
        java.lang.foreign.MemorySegment x = random(r, (long) g.n * g.c * g.h * g.w), a = random(r, (long) m * g.k);
        java.lang.foreign.MemorySegment col = random(r, (long) g.k * nt);
        Im2col.fill(g, x, g.xAt(img, grp), 0, g.k, j0, j1, col, 0, nt, simd);
        Sgemm.PackedB panels = gemm.emptyB(g.k, nt);
        for (int i = 0; i < panels.data.length; i++) panels.data[i] = r.nextFloat();   // every element must be written
        new Im2colPanels(g, panels.nr, gemm.kcFor(g.k), simd).fill(x, g.xAt(img, grp), j0, j1, panels);
        java.lang.foreign.MemorySegment want = random(r, (long) m * nt), got = random(r, (long) m * nt);
        gemm.multiply(m, nt, g.k, 1f, Sgemm.Matrix.of(a, 0, g.k), Sgemm.Matrix.of(col, 0, nt), 0f, want, 0, nt);
        gemm.multiply(m, nt, g.k, 1f, Sgemm.Matrix.of(a, 0, g.k), panels, 0f, got, 0, nt);
        for (long i = 0; i < (long) m * nt; i++)
            assertEquals(want.getAtIndex(F, i), got.getAtIndex(F, i), "at " + i + " " + g);
    }

    /** col2im against the scatter it is the adjoint of, with and without SIMD. */
    @Property(tries = 60)
    void col2imAddsEachValueToThePositionItsTapRead(@ForAll long seed) {
        Random r = new Random(seed);
        Cfg cfg = randomConv(r, 40);
        ConvGeometry g = geometry(cfg);
        int grp = r.nextInt(cfg.g()), img = r.nextInt(cfg.n());
        int r0 = r.nextInt(g.k), r1 = r0 + 1 + r.nextInt(g.k - r0), j0 = r.nextInt(g.plane),
                j1 = j0 + 1 + r.nextInt(g.plane - j0), ld = j1 - j0 + r.nextInt(3);
        java.lang.foreign.MemorySegment col = random(r, (long) (r1 - r0) * ld);
        long size = (long) g.n * g.c * g.h * g.w;
        double[] want = new double[(int) size];
        java.lang.foreign.MemorySegment start = random(r, size);
        for (int i = 0; i < size; i++) want[i] = start.getAtIndex(F, i);
        for (int row = r0; row < r1; row++)
            for (int j = j0; j < j1; j++) {
                long at = position(g, img, grp, row, j);
                if (at >= 0) want[(int) at] += col.getAtIndex(F, (long) (row - r0) * ld + j - j0);
            }
        for (boolean simd : new boolean[] {true, false}) {
            java.lang.foreign.MemorySegment dx = java.lang.foreign.Arena.ofAuto().allocate(size * 4, 64);
            java.lang.foreign.MemorySegment.copy(start, 0, dx, 0, size * 4);
            Col2im.add(g, col, 0, ld, r0, r1, j0, j1, dx, g.xAt(img, grp), simd);
            for (int i = 0; i < size; i++) assertEquals(want[i], dx.getAtIndex(F, i), 1e-5, "at " + i + " simd " + simd);
        }
    }

    /**
     * The gathering im2col of the batched path against the formula: rows [r0, r1) of a slab of one to three
     * images of one group, side by side, written at a column offset of a wider matrix; the columns around it
     * untouched. SIMD and scalar.
     */
    @Property(tries = 60)
    void paddedIm2colWritesTheInputValueEachTapReads(@ForAll long seed) {
        Random r = new Random(seed);
        Cfg cfg = randomConv(r, 20);
        ConvGeometry g = geometry(cfg);
        int grp = r.nextInt(cfg.g()), images = 1 + r.nextInt(cfg.n()), img0 = r.nextInt(cfg.n() - images + 1);
        int taps = g.kh * g.kw, cols = images * g.plane;
        int r0 = r.nextInt(g.k), r1 = r0 + 1 + r.nextInt(g.k - r0), at = r.nextInt(3), ld = at + cols + r.nextInt(3);
        java.lang.foreign.MemorySegment x = random(r, (long) g.n * g.c * g.h * g.w);
        for (boolean simd : new boolean[] {true, false}) {
            java.lang.foreign.MemorySegment col = random(r, (long) (r1 - r0) * ld);
            float[] before = floats(col);
            Im2col.Padded p = new Im2col.Padded(g, images + r.nextInt(2), simd);
            for (int i = 0; i < images; i++) p.load(i, x, g.xAt(img0 + i, grp), r0 / taps, Math.ceilDiv(r1, taps));
            p.fill(r0, r1, cols, col, at, ld);
            for (int row = r0; row < r1; row++)
                for (int j = 0; j < ld; j++) {
                    long i = (long) (row - r0) * ld + j;
                    float want = j >= at && j < at + cols
                            ? naive(g, x, img0 + (j - at) / g.plane, grp, row, (j - at) % g.plane) : before[(int) i];
                    assertEquals(want, col.getAtIndex(F, i), "row " + row + " column " + j + " simd " + simd + " " + g);
                }
        }
    }

    /**
     * The batched im2col written straight into packed-B panels, for the forward (col, K = rows) and for the
     * filter gradient (rows [r0, r1) of col transposed, K = the slab's columns), is the operand the row-major
     * matrix is: a GEMM with either gives the same bits, with small K blocks (K spans several), the SIMD kernel's
     * panels and the scalar one's.
     */
    @Property(tries = 60)
    void paddedIm2colIntoPanelsIsTheSameOperandAsTheRowMajorMatrix(@ForAll long seed) {
        Random r = new Random(seed);
        Cfg cfg = randomConv(r, 12);
        ConvGeometry g = geometry(cfg);
        boolean simd = r.nextBoolean();
        Sgemm gemm = (simd ? Sgemm.create() : Sgemm.scalar()).withBlocking(1 + r.nextInt(40), 64, 2048, 8_000_000);
        int grp = r.nextInt(cfg.g()), images = 1 + r.nextInt(cfg.n()), img0 = r.nextInt(cfg.n() - images + 1);
        int cols = images * g.plane, m = 1 + r.nextInt(9);
        java.lang.foreign.MemorySegment x = random(r, (long) g.n * g.c * g.h * g.w);
        Im2col.Padded p = new Im2col.Padded(g, images, simd);
        for (int i = 0; i < images; i++) p.load(i, x, g.xAt(img0 + i, grp), 0, g.cg);
        java.lang.foreign.MemorySegment col = random(r, (long) g.k * cols);
        p.fill(0, g.k, cols, col, 0, cols);
        boolean transposed = r.nextBoolean();
        int r0 = transposed ? r.nextInt(g.k) : 0, r1 = transposed ? r0 + 1 + r.nextInt(g.k - r0) : g.k;
        int kk = transposed ? cols : g.k, n = transposed ? r1 - r0 : cols;
        Sgemm.PackedB panels = gemm.emptyB(kk, n);
        for (int i = 0; i < panels.data.length; i++) panels.data[i] = r.nextFloat();   // every element must be written
        if (transposed) p.fillPanelsTransposed(r0, r1, cols, panels, gemm.kcFor(kk));
        else p.fillPanels(cols, panels, gemm.kcFor(kk));
        Sgemm.Matrix matrix = transposed ? Sgemm.Matrix.transposed(col, (long) r0 * cols, cols) : Sgemm.Matrix.of(col, 0, cols);
        java.lang.foreign.MemorySegment a = random(r, (long) m * kk), want = random(r, (long) m * n), got = random(r, (long) m * n);
        gemm.multiply(m, n, kk, 1f, Sgemm.Matrix.of(a, 0, kk), matrix, 0f, want, 0, n);
        gemm.multiply(m, n, kk, 1f, Sgemm.Matrix.of(a, 0, kk), panels, 0f, got, 0, n);
        for (long i = 0; i < (long) m * n; i++)
            assertEquals(want.getAtIndex(F, i), got.getAtIndex(F, i), "at " + i + " transposed " + transposed + " " + g);
    }

    /**
     * The scattering col2im of the batched path against the scatter it is the adjoint of: channels [c0, c1) of
     * one image's group set to their bias plus every term of their rows; every other element of dx untouched.
     */
    @Property(tries = 60)
    void paddedCol2imSetsTheBiasPlusEachTermOfTheChannels(@ForAll long seed) {
        Random r = new Random(seed);
        Cfg cfg = randomConv(r, 20);
        ConvGeometry g = geometry(cfg);
        int grp = r.nextInt(cfg.g()), img = r.nextInt(cfg.n()), taps = g.kh * g.kw;
        int c0 = r.nextInt(g.cg), c1 = c0 + 1 + r.nextInt(g.cg - c0), r0 = c0 * taps, r1 = c1 * taps;
        int at = r.nextInt(3), ld = at + g.plane + r.nextInt(3);
        boolean withBias = r.nextBoolean();
        float[] bias = new float[g.c];
        for (int i = 0; i < bias.length; i++) bias[i] = (float) r.nextGaussian();
        java.lang.foreign.MemorySegment col = random(r, (long) (r1 - r0) * ld);
        long size = (long) g.n * g.c * g.h * g.w;
        java.lang.foreign.MemorySegment start = random(r, size);
        double[] want = new double[(int) size];
        for (int i = 0; i < size; i++) want[i] = start.getAtIndex(F, i);
        for (int ci = c0; ci < c1; ci++)
            for (int i = 0; i < g.h * g.w; i++)
                want[(int) (g.xAt(img, grp) + (long) ci * g.h * g.w + i)] = withBias ? bias[grp * g.cg + ci] : 0;
        for (int row = r0; row < r1; row++)
            for (int j = 0; j < g.plane; j++) {
                long pos = position(g, img, grp, row, j);
                if (pos >= 0) want[(int) pos] += col.getAtIndex(F, (long) (row - r0) * ld + at + j);
            }
        for (boolean simd : new boolean[] {true, false}) {
            java.lang.foreign.MemorySegment dx = java.lang.foreign.Arena.ofAuto().allocate(size * 4, 64);
            java.lang.foreign.MemorySegment.copy(start, 0, dx, 0, size * 4);
            Im2col.Padded p = new Im2col.Padded(g, 1, simd);
            p.scatter(col, at, ld, r0, r1, c0, c1, withBias ? bias : null, grp * g.cg, dx, g.xAt(img, grp));
            for (int i = 0; i < size; i++) assertEquals(want[i], dx.getAtIndex(F, i), 1e-5, "at " + i + " simd " + simd);
        }
    }

    /** The thin dense convolutions' dot product and axpy against double arithmetic, SIMD and scalar, odd lengths. */
    @Property(tries = 60)
    void dotAndAxpyOfThinDenseConvolutions(@ForAll long seed) {
        Random r = new Random(seed);
        int len = r.nextInt(200), aAt = r.nextInt(5), bAt = r.nextInt(5);
        java.lang.foreign.MemorySegment a = random(r, aAt + len), b = random(r, bAt + len);
        float alpha = (float) r.nextGaussian();
        double dot = 0;
        for (int i = 0; i < len; i++) dot += (double) a.getAtIndex(F, aAt + i) * b.getAtIndex(F, bAt + i);
        for (boolean simd : new boolean[] {true, false}) {
            assertEquals(dot, ConvKernels.dot(a, aAt, b, bAt, len, simd), 1e-5 * (1 + len), "dot, simd " + simd);
            java.lang.foreign.MemorySegment y = random(r, bAt + len + 3);
            float[] before = floats(y);
            ConvKernels.axpy(alpha, a, aAt, y, bAt, len, simd);
            for (int i = 0; i < before.length; i++) {
                boolean inside = i >= bAt && i < bAt + len;
                double want = inside ? before[i] + (double) alpha * a.getAtIndex(F, aAt + i - bAt) : before[i];
                assertEquals(want, y.getAtIndex(F, i), inside ? 1e-6 * (1 + Math.abs(want)) : 0, "axpy at " + i + " simd " + simd);
            }
        }
    }

    /** Slabs: whole images, every one once, in order, at most the maximum each; the batched path's conditions. */
    @Property(tries = 200)
    void slabsCoverTheImagesInOrder(@ForAll long seed) {
        Random r = new Random(seed);
        int images = 1 + r.nextInt(300), max = 1 + r.nextInt(80);
        ColumnTiles.Slabs s = ColumnTiles.Slabs.of(images, max);
        assertEquals(0, s.from(0));
        assertEquals(images, s.to(s.count() - 1));
        for (int i = 0; i < s.count(); i++) {
            assertTrue(s.to(i) > s.from(i) && s.to(i) - s.from(i) <= max, s + " slab " + i);
            if (i > 0) assertEquals(s.to(i - 1), s.from(i));
        }
        assertEquals(Math.ceilDiv(images, max), s.count(), s.toString());   // the fewest slabs
        int plane = 1 + r.nextInt(2000), rows = 1 + r.nextInt(3000);
        boolean filter = r.nextBoolean();
        ColumnTiles.Slabs b = filter ? ColumnTiles.filterSlabs(images, plane, rows) : ColumnTiles.slabs(images, plane, rows);
        long width = Math.max(ColumnTiles.BUDGET_BYTES / (4L * rows), ColumnTiles.SLAB_MIN_COLUMNS);
        int maxPlane = (filter ? ColumnTiles.FILTER_SLAB_FACTOR : 1) * ColumnTiles.SLAB_MAX_PLANE;
        boolean batched = images > 1 && plane <= maxPlane && width / plane >= 2;
        assertEquals(batched, b != null, "images " + images + " plane " + plane + " rows " + rows + " filter " + filter);
        if (b != null) assertTrue((long) b.per() * plane <= width && b.per() >= 2, b + " plane " + plane);
    }

    @Property(tries = 200)
    void columnTilesCoverThePixelsInPanelsWithinTheBudget(@ForAll long seed) {
        Random r = new Random(seed);
        int columns = 1 + r.nextInt(20000), rows = 1 + r.nextInt(5000), nr = List.of(4, 8, 16, 32).get(r.nextInt(4));
        long budget = 64L << r.nextInt(16);
        int min = r.nextBoolean() ? 1 : 1 + r.nextInt(300);
        ColumnTiles t = ColumnTiles.of(columns, rows, nr, budget, min);
        assertEquals(0, t.from(0));
        assertEquals(columns, t.to(t.count() - 1));
        assertTrue(t.count() == 1 || t.to(t.count() - 2) < columns, t.toString());
        if (t.count() > 1) {
            assertEquals(0, t.width() % nr, t.toString());
            long fit = budget / (4L * rows);                 // columns within the budget, rounded up to a panel
            assertTrue(t.width() <= Math.ceilDiv(Math.max(Math.max(fit, min), nr), nr) * nr,
                    t + " rows " + rows + " budget " + budget + " min " + min);
            assertTrue(2 * t.width() >= min, t + " min " + min);
        }
    }

    private static final java.lang.foreign.ValueLayout.OfFloat F = java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED;

    private static ConvGeometry geometry(Cfg c) {
        return new ConvGeometry(Shape.of(c.n(), c.c(), c.h(), c.w()), Shape.of(c.o(), c.c() / c.g(), c.kh(), c.kw()),
                Shape.of(c.n(), c.o(), c.ho(), c.wo()), c.sh(), c.sw(), c.pt(), c.pl(), c.dh(), c.dw(), c.g());
    }

    /** The flat index in x of column-matrix element (row, pixel j) of image img, group grp; -1 in the padding. */
    private static long position(ConvGeometry g, int img, int grp, int row, int j) {
        int ci = row / (g.kh * g.kw), ky = row / g.kw % g.kh, kx = row % g.kw;
        int oy = j / g.wo, ox = j % g.wo;
        int iy = oy * g.sh - g.pt + ky * g.dh, ix = ox * g.sw - g.pl + kx * g.dw;
        if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) return -1;
        return (((long) img * g.c + (long) grp * g.cg + ci) * g.h + iy) * g.w + ix;
    }

    private static float naive(ConvGeometry g, java.lang.foreign.MemorySegment x, int img, int grp, int row, int j) {
        long at = position(g, img, grp, row, j);
        return at < 0 ? 0f : x.getAtIndex(F, at);
    }

    private static java.lang.foreign.MemorySegment random(Random r, long n) {
        java.lang.foreign.MemorySegment s = java.lang.foreign.Arena.ofAuto().allocate(Math.max(1, n) * 4, 64);
        for (long i = 0; i < n; i++) s.setAtIndex(F, i, (float) (r.nextDouble() * 2 - 1));
        return s;
    }
}
