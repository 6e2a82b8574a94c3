package dev.stride.engine.cpu;

import dev.stride.engine.Tensor;
import dev.stride.graph.ConvSpec;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Node;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.BatchNorm2dInfer;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Conv2dBackwardData;
import dev.stride.graph.op.Conv2dBackwardFilter;
import dev.stride.graph.op.Unary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The direct depthwise kernels (groups = C = O): forward with its epilogue, backward-data and backward-filter,
 * against the reference oracle through the dispatch (the algorithm forced), and bound directly, with and without
 * SIMD, against loops written here.
 */
class DepthwiseConvTest {
    /** A depthwise convolution: batch, channels, input size, kernel, stride, padding per side, dilation, bias. */
    record Case(int n, int c, int h, int w, int kh, int kw, int sh, int sw, int pt, int pl, int pb, int pr, int dh,
                int dw, boolean bias) {
        int ho() { return Math.floorDiv(h + pt + pb - dh * (kh - 1) - 1, sh) + 1; }

        int wo() { return Math.floorDiv(w + pl + pr - dw * (kw - 1) - 1, sw) + 1; }

        Conv2d op() { return new Conv2d(sh, sw, pt, pl, pb, pr, dh, dw, c); }

        ConvSpec spec() { return ConvSpec.defaults().stride(sh, sw).pad(pt, pl, pb, pr).dilation(dh, dw).groups(c); }
    }

    private static final int[] CHANNELS = {1, 2, 3, 5, 8, 9, 13};

    /**
     * Reaches: batch 1, one channel, 1-pixel inputs, stride larger than the kernel, stride and dilation that
     * differ between height and width, padding on one side only, kernels up to 5x5.
     */
    static Case randomCase(Random r) {
        while (true) {
            int h = r.nextInt(5) == 0 ? 1 : 1 + r.nextInt(12), w = r.nextInt(5) == 0 ? 1 : 1 + r.nextInt(12);
            Case k = new Case(1 + r.nextInt(3), CHANNELS[r.nextInt(CHANNELS.length)], h, w, 1 + r.nextInt(5),
                    1 + r.nextInt(5), 1 + r.nextInt(3), 1 + r.nextInt(3), r.nextInt(3), r.nextInt(3), r.nextInt(3),
                    r.nextInt(3), 1 + r.nextInt(2), 1 + r.nextInt(2), r.nextBoolean());
            if (k.ho() >= 1 && k.wo() >= 1) return k;
        }
    }

    static final Map<Class<? extends dev.stride.graph.Op>, String> FORCED = Map.of(Conv2d.class, ConvChooser.DEPTHWISE,
            Conv2dBackwardData.class, ConvChooser.DEPTHWISE, Conv2dBackwardFilter.class, ConvChooser.DEPTHWISE);

    // ---- through the dispatch, against the reference backend ----

    /** Forward and the data gradient: sums over kernel taps only. */
    @Property(tries = 60)
    void forwardAndDataGradientMatchTheReference(@ForAll long seed, @ForAll @IntRange(min = 1, max = 2) int threads) {
        Case k = randomCase(new Random(seed));
        var r = CrossBackend.check(shapes(k), (b, xs) -> List.of(b.conv2d(xs.get(0), xs.get(1),
                        k.bias() ? xs.get(2) : null, k.spec())), seed,
                CrossBackend.Options.forward("conv.depthwise", Conv2d.class, Conv2dBackwardData.class)
                        .withGradients(0).withThreads(threads).withTarget(ConvTesting.forcing(FORCED)));
        assertEquals(2, r.algorithms().values().stream().filter(ConvChooser.DEPTHWISE::equals).count(), r.algorithms().toString());
    }

    /** The filter gradient sums over the batch and every output position: the backward tolerance. */
    @Property(tries = 60)
    void filterGradientMatchesTheReference(@ForAll long seed, @ForAll @IntRange(min = 1, max = 2) int threads) {
        Case k = randomCase(new Random(seed));
        var r = CrossBackend.check(shapes(k), (b, xs) -> List.of(b.conv2d(xs.get(0), xs.get(1),
                        k.bias() ? xs.get(2) : null, k.spec())), seed,
                CrossBackend.Options.forward("conv.backward", Conv2d.class, Conv2dBackwardFilter.class)
                        .withGradients(1).withThreads(threads).withTarget(ConvTesting.forcing(FORCED)));
        assertEquals(2, r.algorithms().values().stream().filter(ConvChooser.DEPTHWISE::equals).count(), r.algorithms().toString());
    }

    @Property(tries = 30)
    void fusedBatchNormAndActivationMatchTheReference(@ForAll long seed) {
        Random rnd = new Random(seed);
        Case k = randomCase(rnd);
        Unary.Fn act = Epilogue.FUSABLE.get(rnd.nextInt(Epilogue.FUSABLE.size()));
        Shape ch = Shape.of(k.c());
        Tensor variance = Tensor.zeros(DType.F64, ch);
        for (int i = 0; i < k.c(); i++) variance.set(i, 0.1 + rnd.nextDouble());
        List<Shape> shapes = new ArrayList<>(List.of(Shape.of(k.n(), k.c(), k.h(), k.w()), Shape.of(k.c(), 1, k.kh(), k.kw()),
                ch, ch, ch, ch, ch));
        var r = CrossBackend.check(shapes, (b, xs) -> {
            Value y = b.conv2d(xs.get(0), xs.get(1), k.bias() ? xs.get(2) : null, k.spec());
            y = b.apply("bn", new BatchNorm2dInfer(1e-5), y, xs.get(3), xs.get(4), xs.get(5), xs.get(6));
            return List.of(b.apply("act", new Unary(act, 0.2), y));
        }, seed, CrossBackend.Options.forward("conv.depthwise", Conv2d.class).withInput(6, variance)
                .withTarget(ConvTesting.forcing(FORCED)));
        assertEquals(ConvChooser.DEPTHWISE + "+bn+" + act.name().toLowerCase(), r.algorithms().get("conv2d"));
    }

    private static List<Shape> shapes(Case k) {
        List<Shape> s = new ArrayList<>(List.of(Shape.of(k.n(), k.c(), k.h(), k.w()), Shape.of(k.c(), 1, k.kh(), k.kw())));
        if (k.bias()) s.add(Shape.of(k.c()));
        return s;
    }

    // ---- the kernels bound directly: every width, thread splits ----

    /** The default vector width and the scalar path (other widths: -Dstride.cpu.vectorBits). */
    @Property(tries = 80)
    void kernelsMatchDirectLoopsWithAndWithoutSimd(@ForAll long seed) {
        Random r = new Random(seed);
        Case k = randomCase(r);
        boolean simd = r.nextBoolean() && VectorConfig.SIMD;
        for (Pass pass : Pass.values()) {
            Run run = run(k, pass, r, simd, 1 + r.nextInt(2), true);
            ConvTesting.assertClose(run.got, run.want, Tolerances.of(pass == Pass.FILTER ? "conv.backward" : "conv.depthwise"),
                    pass + (simd ? " simd " : " scalar ") + k);
        }
    }

    /** Bit-identical for 1 and 2 threads at a size where every pass is split (> 16 MFLOP). */
    @Test
    void resultsAreBitIdenticalForAnyThreadCount() {
        Case k = new Case(4, 64, 48, 48, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, true);
        for (Pass pass : Pass.values()) {
            float[] one = run(k, pass, new Random(3), VectorConfig.SIMD, 1, false).got;
            float[] two = run(k, pass, new Random(3), VectorConfig.SIMD, 2, false).got;
            assertArrayEquals(one, two, pass.toString());
        }
    }

    enum Pass { FORWARD, DATA, FILTER }

    record Run(float[] got, double[] want) {}

    /** One pass bound and run once; {@code want} computed by loops here when {@code oracle}. */
    static Run run(Case k, Pass pass, Random r, boolean simd, int threads, boolean oracle) {
        GraphBuilder b = new GraphBuilder(DType.F32, false);
        Value x = b.input("x", k.n(), k.c(), k.h(), k.w()), w = b.input("w", k.c(), 1, k.kh(), k.kw());
        Value dy = b.input("dy", k.n(), k.c(), k.ho(), k.wo());
        Value bias = k.bias() && pass == Pass.FORWARD ? b.input("b", k.c()) : null;
        Unary.Fn act = pass == Pass.FORWARD && r.nextBoolean() ? Epilogue.FUSABLE.get(r.nextInt(Epilogue.FUSABLE.size())) : null;
        Value out = switch (pass) {
            case FORWARD -> {
                Value y = b.conv2d(x, w, bias, k.spec());
                yield act == null ? y : b.apply("act", new Unary(act, 0.2), y);
            }
            case DATA -> b.apply("dx", k.op().backwardData(k.h(), k.w()), dy, w);
            case FILTER -> b.apply("dw", k.op().backwardFilter(k.kh(), k.kw()), x, dy);
        };
        b.output("out", out);
        Graph g = b.build();
        Node head = g.nodes().getFirst();
        var buf = ConvTesting.buffers(g, r);
        float[] got;
        try (CpuRuntime rt = new CpuRuntime(threads, g.values().size())) {
            CpuNode node = ConvTesting.bind(head, g.nodes().subList(1, g.nodes().size()), buf, rt, ConvChooser.DEPTHWISE);
            CpuKernel kernel = switch (pass) {
                case FORWARD -> DepthwiseConv.forward((Conv2d) head.op(), node, simd);
                case DATA -> DepthwiseConv.backwardData((Conv2dBackwardData) head.op(), node, simd);
                case FILTER -> DepthwiseConv.backwardFilter((Conv2dBackwardFilter) head.op(), node, simd);
            };
            kernel.run(null);
            kernel.run(null);                               // a second run: scratch reused must not leak into it
            got = ConvTesting.floats(buf.get(out.id()));
        }
        if (!oracle) return new Run(got, null);
        float[] xs = ConvTesting.floats(buf.get(x.id())), ws = ConvTesting.floats(buf.get(w.id())),
                dys = ConvTesting.floats(buf.get(dy.id()));
        double[] want = new double[got.length];
        int ho = k.ho(), wo = k.wo();
        for (int n = 0; n < k.n(); n++)
            for (int c = 0; c < k.c(); c++)
                for (int oy = 0; oy < ho; oy++)
                    for (int ox = 0; ox < wo; ox++) {
                        int o = ((n * k.c() + c) * ho + oy) * wo + ox;
                        for (int ky = 0; ky < k.kh(); ky++)
                            for (int kx = 0; kx < k.kw(); kx++) {
                                int iy = oy * k.sh() - k.pt() + ky * k.dh(), ix = ox * k.sw() - k.pl() + kx * k.dw();
                                if (iy < 0 || iy >= k.h() || ix < 0 || ix >= k.w()) continue;
                                int i = ((n * k.c() + c) * k.h() + iy) * k.w() + ix, t = (c * k.kh() + ky) * k.kw() + kx;
                                switch (pass) {
                                    case FORWARD -> want[o] += xs[i] * (double) ws[t];
                                    case DATA -> want[i] += dys[o] * (double) ws[t];
                                    case FILTER -> want[t] += dys[o] * (double) xs[i];
                                }
                            }
                    }
        if (pass == Pass.FORWARD) {
            int plane = ho * wo;
            for (int i = 0; i < want.length; i++) {
                double v = want[i] + (bias == null ? 0 : buf.get(bias.id()).getAtIndex(ValueLayout.JAVA_FLOAT, i / plane % k.c()));
                want[i] = act == null ? v : ConvTesting.activate(act, 0.2, v);
            }
        }
        return new Run(got, want);
    }

}
