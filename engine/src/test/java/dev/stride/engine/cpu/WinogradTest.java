package dev.stride.engine.cpu;

import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.ConvSpec;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Init;
import dev.stride.graph.Node;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.BatchNorm2dInfer;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Conv2dBackwardData;
import dev.stride.graph.op.Unary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Winograd F(2x2,3x3) and F(4x4,3x3), forward and backward-data: against the reference oracle through the
 * Conv2d dispatch (CrossBackend, the algorithm forced), and the kernel itself bound without a program, so that
 * block sizes, the scalar path and thread splits the defaults never reach get tested as well.
 */
class WinogradTest {
    /** A 3x3 stride-1 convolution: batch, channels, spatial size, padding on each side, bias. */
    record Case(int n, int c, int o, int h, int w, int pt, int pl, int pb, int pr, boolean bias) {
        int ho() { return h + pt + pb - 2; }

        int wo() { return w + pl + pr - 2; }

        Conv2d op() { return new Conv2d(1, 1, pt, pl, pb, pr, 1, 1, 1); }

        ConvSpec spec() { return ConvSpec.defaults().pad(pt, pl, pb, pr); }
    }

    private static final int[] CHANNELS = {1, 2, 3, 5, 8, 9, 13, 16, 17};

    /**
     * Edge cases on purpose: one channel and counts that are not multiples of a vector, inputs of 1x1 (with
     * padding) and smaller than a tile, odd sizes, padding on one side only.
     */
    static Case randomCase(Random r) {
        while (true) {
            int n = 1 + r.nextInt(3);
            int c = CHANNELS[r.nextInt(CHANNELS.length)], o = CHANNELS[r.nextInt(CHANNELS.length)];
            int h = r.nextInt(5) == 0 ? 1 : 1 + r.nextInt(11), w = r.nextInt(5) == 0 ? 1 : 1 + r.nextInt(11);
            int pt = r.nextInt(3), pl = r.nextInt(3), pb = r.nextInt(3), pr = r.nextInt(3);
            Case k = new Case(n, c, o, h, w, pt, pl, pb, pr, r.nextBoolean());
            if (k.ho() >= 1 && k.wo() >= 1) return k;
        }
    }

    static String algorithm(int m) { return m == 2 ? ConvChooser.WINOGRAD_F2 : ConvChooser.WINOGRAD_F4; }

    static String tolerance(int m) { return "conv." + algorithm(m); }

    // ---- through the dispatch, against the reference backend ----

    @Property(tries = 50)
    void forwardMatchesTheReference(@ForAll long seed, @ForAll @IntRange(min = 0, max = 1) int f4,
                                    @ForAll @IntRange(min = 1, max = 2) int threads, @ForAll boolean weightIsParam) {
        Case k = randomCase(new Random(seed));
        int m = 2 + 2 * f4;
        List<Shape> shapes = new ArrayList<>(List.of(Shape.of(k.n(), k.c(), k.h(), k.w()), Shape.of(k.o(), k.c(), 3, 3)));
        if (k.bias()) shapes.add(Shape.of(k.o()));
        var r = CrossBackend.check(shapes, (b, xs) -> {
            // A parameter is persistent: the kernel transforms it once and caches; an input is transformed per run
            Value w = weightIsParam ? b.param("weight", xs.get(1).shape(), Init.kaimingNormal()) : xs.get(1);
            return List.of(b.conv2d(xs.get(0), w, k.bias() ? xs.get(2) : null, k.spec()));
        }, seed, CrossBackend.Options.forward(tolerance(m), Conv2d.class).withThreads(threads)
                .withTarget(ConvTesting.forcing(Map.of(Conv2d.class, algorithm(m)))));
        assertEquals(algorithm(m), r.algorithms().get("conv2d"), "the kernel under test ran: " + r.algorithms());
    }

    @Property(tries = 40)
    void backwardDataMatchesTheReference(@ForAll long seed, @ForAll @IntRange(min = 0, max = 1) int f4,
                                         @ForAll @IntRange(min = 1, max = 2) int threads) {
        Case k = randomCase(new Random(seed));
        int m = 2 + 2 * f4;
        String alg = algorithm(m);
        var r = CrossBackend.check(List.of(Shape.of(k.n(), k.c(), k.h(), k.w()), Shape.of(k.o(), k.c(), 3, 3)),
                (b, xs) -> List.of(b.conv2d(xs.get(0), b.param("weight", xs.get(1).shape(), Init.kaimingNormal()),
                        null, k.spec())),
                seed, CrossBackend.Options.forward(tolerance(m), Conv2d.class, Conv2dBackwardData.class)
                        .withGradients(0).withThreads(threads)
                        .withTarget(ConvTesting.forcing(Map.of(Conv2d.class, alg, Conv2dBackwardData.class, alg))));
        assertEquals(2, r.algorithms().values().stream().filter(alg::equals).count(),
                "forward and data gradient ran on Winograd: " + r.algorithms());
    }

    @Property(tries = 30)
    void fusedBatchNormAndActivationMatchTheReference(@ForAll long seed, @ForAll @IntRange(min = 0, max = 1) int f4,
                                                      @ForAll @IntRange(min = 1, max = 2) int threads) {
        Random rnd = new Random(seed);
        Case k = randomCase(rnd);
        int m = 2 + 2 * f4;
        Unary.Fn act = Epilogue.FUSABLE.get(rnd.nextInt(Epilogue.FUSABLE.size()));
        double alpha = act == Unary.Fn.LEAKY_RELU || act == Unary.Fn.ELU ? 0.1 + rnd.nextDouble() : 0;
        Shape ch = Shape.of(k.o());
        Tensor variance = Tensor.zeros(DType.F64, ch);
        for (int i = 0; i < k.o(); i++) variance.set(i, 0.1 + rnd.nextDouble());
        var r = CrossBackend.check(List.of(Shape.of(k.n(), k.c(), k.h(), k.w()), Shape.of(k.o(), k.c(), 3, 3), ch, ch, ch,
                ch, ch), (b, xs) -> {
            Value y = b.conv2d(xs.get(0), xs.get(1), k.bias() ? xs.get(2) : null, k.spec());
            y = b.apply("bn", new BatchNorm2dInfer(1e-5), y, xs.get(3), xs.get(4), xs.get(5), xs.get(6));
            return List.of(b.apply("act", new Unary(act, alpha), y));
        }, seed, CrossBackend.Options.forward(tolerance(m), Conv2d.class).withThreads(threads).withInput(6, variance)
                .withTarget(ConvTesting.forcing(Map.of(Conv2d.class, algorithm(m)))));
        assertEquals(algorithm(m) + "+bn+" + act.name().toLowerCase(), r.algorithms().get("conv2d"));
    }

    /** A weight written between runs is transformed again: the cache follows the weight's version. */
    @Test
    void rewrittenWeightsAreTransformedAgain() {
        for (int m : new int[] {2, 4}) {
            Plan[] plans = new Plan[2];
            for (DType dt : new DType[] {DType.F32, DType.F64}) {
                GraphBuilder b = new GraphBuilder(dt, false);
                b.output("y", b.conv2d("c", b.input("x", 2, 5, 9, 7), 6, 3, ConvSpec.defaults().pad(1)));
                plans[dt == DType.F32 ? 0 : 1] = Compiler.compile(b.build(),
                        dt == DType.F32 ? ConvTesting.forcing(Map.of(Conv2d.class, algorithm(m))) : Compiler.Target.reference());
            }
            Random r = new Random(m);
            Tensor x = Tensor.zeros(DType.F32, Shape.of(2, 5, 9, 7));
            for (long i = 0; i < x.size(); i++) x.set(i, r.nextDouble() * 2 - 1);
            try (Session cpu = Session.open(plans[0], "cpu", SessionOptions.defaults().withThreads(1));
                 Session ref = Session.open(plans[1], "reference", SessionOptions.defaults())) {
                ref.copyPersistentFrom(cpu);
                float[] first = compare(cpu, ref, x, m);
                compare(cpu, ref, x, m);                          // the cached transform, unchanged weights
                Tensor w = Tensor.zeros(DType.F32, Shape.of(6, 5, 3, 3));
                for (long i = 0; i < w.size(); i++) w.set(i, r.nextDouble() * 2 - 1);
                cpu.set("c/weight", w);
                ref.set("c/weight", w.as(DType.F64));
                float[] second = compare(cpu, ref, x, m);
                assertFalse(java.util.Arrays.equals(first, second), "the new weights changed the output");
            }
        }
    }

    private static float[] compare(Session cpu, Session ref, Tensor x, int m) {
        Tensor got = cpu.run(Map.of("x", x)).get("y"), want = ref.run(Map.of("x", x.as(DType.F64))).get("y");
        Tolerances.Tol tol = Tolerances.of(tolerance(m));
        for (long i = 0; i < want.size(); i++)
            assertTrue(Math.abs(got.get(i) - want.get(i)) <= tol.atol() + tol.rtol() * Math.abs(want.get(i)),
                    "at " + i + ": " + got.get(i) + " vs " + want.get(i));
        return got.toFloatArray();
    }

    // ---- the kernel bound directly: block sizes, widths, threads ----

    /**
     * Random cases at random block sizes (down to one GEMM tile of tiles, so blocks split tile rows and straddle
     * images), the default vector width and the scalar path, forward with a random epilogue or backward-data,
     * against the oracle. (The kernels' width is the static VectorConfig.SPECIES, a JIT constant: other widths
     * take -Dstride.cpu.vectorBits.)
     */
    @Property(tries = 80)
    void kernelMatchesTheOracleAtAnyBlockSizeAndWidth(@ForAll long seed) {
        Random r = new Random(seed);
        Case k = randomCase(r);
        int m = r.nextBoolean() ? 2 : 4, threads = 1 + r.nextInt(2);
        boolean simd = r.nextBoolean() && VectorConfig.SIMD;
        long blockBytes = r.nextBoolean() ? 1 : 1 + r.nextInt(1 << 17);
        Run run = r.nextBoolean() ? forwardRun(k, m, r, simd, blockBytes, threads, true)
                : backwardRun(k, m, r, simd, blockBytes, threads, true);
        ConvTesting.assertClose(run.got, run.want, Tolerances.of(tolerance(m)),
                run.what + (simd ? " simd" : " scalar") + " block bytes " + blockBytes + " " + k);
    }

    /**
     * Bit-identical results for 1 and 2 threads, at sizes where the work really is split: blocks shared among
     * workers (batch 2), and one block computed cooperatively (batch 1, a 24x24 map: 36 tiles of F(4x4)); each
     * share above the runtime's 8 MFLOP threshold. (The
     * values themselves are checked by the properties above, at sizes the double oracle computes quickly.)
     */
    @Test
    void resultsAreBitIdenticalForAnyThreadCount() {
        Case batched = new Case(2, 40, 40, 36, 36, 1, 1, 1, 1, true);
        Case single = new Case(1, 88, 88, 24, 24, 1, 1, 1, 1, false);
        for (int m : new int[] {2, 4}) {
            for (Case k : new Case[] {batched, single}) {
                for (boolean backward : new boolean[] {false, true}) {
                    float[][] got = new float[2][];
                    for (int threads = 1; threads <= 2; threads++) {
                        long bytes = WinogradKernels.BLOCK_BYTES;
                        Run run = backward ? backwardRun(k, m, new Random(7), VectorConfig.SIMD, bytes, threads, false)
                                : forwardRun(k, m, new Random(7), VectorConfig.SIMD, bytes, threads, false);
                        got[threads - 1] = run.got;
                        if (threads == 2 && k == single && m == 4)
                            assertTrue(run.kernel.cooperative(), "one block, shared by the threads");
                        if (threads == 2 && k == batched) assertTrue(run.kernel.blocks() >= 2, "blocks split");
                    }
                    assertArrayEquals(got[0], got[1], "F(" + m + ") " + (backward ? "backward " : "forward ") + k);
                }
            }
        }
    }

    record Run(float[] got, double[] want, WinogradKernels.Pipeline kernel, String what) {}

    /** A forward kernel with a random epilogue (bias, batch norm, activation, each maybe) run once. */
    static Run forwardRun(Case k, int m, Random r, boolean simd, long blockBytes, int threads,
                          boolean oracle) {
        GraphBuilder b = new GraphBuilder(DType.F32, false);
        Value x = b.input("x", k.n(), k.c(), k.h(), k.w()), w = b.input("w", k.o(), k.c(), 3, 3);
        Value bias = k.bias() ? b.input("b", k.o()) : null;
        Value y = b.conv2d(x, w, bias, k.spec());
        boolean bn = r.nextBoolean();
        if (bn) y = b.apply("bn", new BatchNorm2dInfer(1e-3), y, b.input("gamma", k.o()), b.input("beta", k.o()),
                b.input("mean", k.o()), b.input("var", k.o()));
        Unary.Fn act = r.nextBoolean() ? Epilogue.FUSABLE.get(r.nextInt(Epilogue.FUSABLE.size())) : null;
        double alpha = 0.3;
        if (act != null) y = b.apply("act", new Unary(act, alpha), y);
        b.output("y", y);
        Graph g = b.build();
        Node conv = g.nodes().getFirst();
        List<Node> fused = g.nodes().subList(1, g.nodes().size());
        var buf = ConvTesting.buffers(g, r, "var");
        try (CpuRuntime rt = new CpuRuntime(threads, g.values().size())) {
            CpuNode node = ConvTesting.bind(conv, fused, buf, rt, algorithm(m));
            WinogradKernels.Pipeline kernel = WinogradKernels.forward((Conv2d) conv.op(), node, m, simd, blockBytes);
            kernel.run(null);
            float[] got = ConvTesting.floats(buf.get(y.id()));
            String what = "forward F(" + m + ")" + (bn ? " +bn" : "") + (act != null ? " +" + act : "");
            if (!oracle) return new Run(got, null, kernel, what);
            double[] want = ConvTesting.correlate(ConvTesting.floats(buf.get(x.id())), k.n(), k.c(), k.h(), k.w(),
                    ConvTesting.floats(buf.get(w.id())), k.o(), 3, 3, k.ho(), k.wo(), -k.pt(), -k.pl(), 1, 1, 1, false);
            int plane = k.ho() * k.wo();
            for (int i = 0; i < want.length; i++) {
                int c = i / plane % k.o();
                double v = want[i] + (bias == null ? 0 : at(buf, bias, c));
                if (bn) {
                    Node bnNode = fused.getFirst();
                    double gamma = at(buf, bnNode.inputs().get(1), c), beta = at(buf, bnNode.inputs().get(2), c);
                    double mean = at(buf, bnNode.inputs().get(3), c), var = at(buf, bnNode.inputs().get(4), c);
                    v = (v - mean) / Math.sqrt(var + 1e-3) * gamma + beta;
                }
                want[i] = act == null ? v : ConvTesting.activate(act, alpha, v);
            }
            return new Run(got, want, kernel, what);
        }
    }

    /** A backward-data kernel run once: dx from random dy and w. */
    static Run backwardRun(Case k, int m, Random r, boolean simd, long blockBytes, int threads,
                           boolean oracle) {
        GraphBuilder b = new GraphBuilder(DType.F32, false);
        Value dy = b.input("dy", k.n(), k.o(), k.ho(), k.wo()), w = b.input("w", k.o(), k.c(), 3, 3);
        Conv2dBackwardData op = k.op().backwardData(k.h(), k.w());
        Value dx = b.apply("dx", op, dy, w);
        b.output("dx", dx);
        Graph g = b.build();
        var buf = ConvTesting.buffers(g, r);
        try (CpuRuntime rt = new CpuRuntime(threads, g.values().size())) {
            CpuNode node = ConvTesting.bind(g.nodes().getFirst(), List.of(), buf, rt, algorithm(m));
            WinogradKernels.Pipeline kernel = WinogradKernels.backwardData(op, node, m, simd, blockBytes);
            kernel.run(null);
            float[] got = ConvTesting.floats(buf.get(dx.id()));
            if (!oracle) return new Run(got, null, kernel, "backward-data F(" + m + ")");
            // dx(c, i, j) = sum over o, a, b of dy(o, i + pt - 2 + a, j + pl - 2 + b) w(o, c, 2 - a, 2 - b)
            double[] want = ConvTesting.correlate(ConvTesting.floats(buf.get(dy.id())), k.n(), k.o(), k.ho(), k.wo(),
                    ConvTesting.floats(buf.get(w.id())), k.c(), 3, 3, k.h(), k.w(), k.pt() - 2, k.pl() - 2, 1, 1, 1, true);
            return new Run(got, want, kernel, "backward-data F(" + m + ")");
        }
    }

    private static double at(Map<Integer, MemorySegment> buf, Value v, int i) {
        return buf.get(v.id()).getAtIndex(ValueLayout.JAVA_FLOAT, i);
    }
}
