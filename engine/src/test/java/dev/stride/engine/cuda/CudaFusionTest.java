package dev.stride.engine.cuda;

import dev.stride.engine.Backend;
import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.engine.cpu.CpuBackend;
import dev.stride.graph.Compiler;
import dev.stride.graph.ConvSpec;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Node;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.Conv2d;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Conv2d + ReLU fusion on the cuda backend: which chains {@link CudaAlgorithms} fuses, that a fused plan computes
 * what the unfused one does (bit for bit on the emulated device) and what the reference does, the epilogue kernel
 * that applies a bias and ReLU after a cuDNN engine that did not, the refusal of fusions no cuda kernel applies, and
 * that closing a program closes its kernels.
 */
@net.jqwik.api.Tag("cuda-kernels")
@AddLifecycleHook(CudaCrossBackend.SkipUnlessUsable.class)
class CudaFusionTest {
    private static final Backend CUDA = CudaCrossBackend.backend();

    private static String entry(Plan plan, String nodeName) {
        for (Node n : plan.graph().nodes()) if (n.name().equals(nodeName)) return plan.algorithms().get(n.id());
        throw new AssertionError("no node " + nodeName);
    }

    private static int id(Plan plan, String nodeName) {
        for (Node n : plan.graph().nodes()) if (n.name().equals(nodeName)) return n.id();
        throw new AssertionError("no node " + nodeName);
    }

    /** conv -> relu is fused; a conv output also read elsewhere, or followed by another activation, is not. */
    @Test
    @Tag("cuda-kernels")
    void onlyAReluThatIsTheConvolutionsSoleReaderIsFused() {
        var b = new GraphBuilder(DType.F32, false);
        Value x = b.input("x", 1, 2, 6, 6);
        b.output("a", b.apply("relu_a", new dev.stride.graph.op.Unary(dev.stride.graph.op.Unary.Fn.RELU, 0, 0),
                b.conv2d("conv_a", x, 3, 3, ConvSpec.defaults())));
        b.output("b", b.apply("relu_b", new dev.stride.graph.op.Unary(dev.stride.graph.op.Unary.Fn.RELU, 0, 0),
                b.conv2d("conv_b", x, 3, 3, ConvSpec.defaults().bias(false))));
        Value c = b.conv2d("conv_c", x, 3, 3, ConvSpec.defaults());
        b.output("c", b.relu(c));
        b.output("c_raw", c);                                        // the conv output is a graph output too
        b.output("d", b.leakyRelu(b.conv2d("conv_d", x, 3, 3, ConvSpec.defaults()), 0.1));
        Value e = b.conv2d("conv_e", x, 3, 3, ConvSpec.defaults());
        b.output("e", b.add(b.relu(e), e));                          // a second reader
        Plan plan = Compiler.compile(b.build(), CUDA.target());

        assertEquals(CudaAlgorithms.FUSED_RELU, entry(plan, "conv_a"));
        assertEquals(Plan.FUSED_PREFIX + id(plan, "conv_a"), entry(plan, "relu_a"));
        assertEquals(CudaAlgorithms.FUSED_RELU, entry(plan, "conv_b"));
        assertEquals(Plan.FUSED_PREFIX + id(plan, "conv_b"), entry(plan, "relu_b"));
        for (String conv : List.of("conv_c", "conv_d", "conv_e")) assertEquals("", entry(plan, conv), conv);
        for (Node n : plan.graph().nodes())
            if (!n.name().startsWith("conv_a") && !n.name().startsWith("conv_b") && !n.name().startsWith("relu_"))
                assertTrue(Plan.fusedInto(plan.algorithms().get(n.id())) < 0, n.name() + " " + plan.algorithms().get(n.id()));
        assertEquals(List.of("", ""), List.of(new CudaAlgorithms(false).choose(plan.graph(), plan.schedule()).get(id(plan, "conv_a")),
                new CudaAlgorithms(false).choose(plan.graph(), plan.schedule()).get(id(plan, "relu_a"))), "fusion off");
    }

    /** In a training graph the ReLU's gradient reads the convolution's output: nothing is fused. */
    @Test
    @Tag("cuda-kernels")
    void aTrainingGraphKeepsTheConvolutionOutputForTheReluGradient() {
        var b = new GraphBuilder(DType.F32, true);
        Value x = b.input("x", 1, 2, 6, 6);
        Value y = b.relu(b.conv2d("conv", x, 3, 3, ConvSpec.defaults()));
        Value loss = b.apply("loss", new dev.stride.graph.op.SumTo(new int[0]), y);
        var grads = dev.stride.graph.Autodiff.gradients(b, loss, List.of(x));
        b.output("loss", loss);
        b.output("dx", grads.get(x));
        Plan plan = Compiler.compile(b.build(), CUDA.target());
        for (String entry : plan.algorithms()) assertTrue(Plan.fusedInto(entry) < 0 && !entry.contains("+"), entry);
    }

    /**
     * Random convolutions ({@link ConvCase}) followed by a ReLU: the fused plan against the float64 reference, and,
     * on the emulated device, bit for bit against the same graph compiled without fusion; the session reports the
     * fusion.
     */
    @Property(tries = 40)
    void aFusedConvolutionComputesWhatTheUnfusedOneDoes(@ForAll long seed) {
        ConvCase k = ConvCase.draw(seed);
        List<Shape> in = k.bias() ? List.of(k.x(), k.weight(), Shape.of(k.o())) : List.of(k.x(), k.weight());
        CudaCrossBackend.check(in, (b, xs) -> List.of(b.apply("relu", new dev.stride.graph.op.Unary(
                dev.stride.graph.op.Unary.Fn.RELU, 0, 0), b.apply("conv", k.conv(), xs.toArray(Value[]::new)))),
                seed, CudaCrossBackend.Options.forward("conv"));

        var b = new GraphBuilder(DType.F32, false);
        Value[] xs = new Value[in.size()];
        for (int i = 0; i < xs.length; i++) xs[i] = b.input("x" + i, in.get(i));
        b.output("y", b.apply("relu", new dev.stride.graph.op.Unary(dev.stride.graph.op.Unary.Fn.RELU, 0, 0),
                b.apply("conv", k.conv(), xs)));
        Graph g = b.build();
        Plan fused = Compiler.compile(g, CUDA.target());
        Plan unfused = Compiler.compile(g, new Compiler.Target(CudaBackend.NAME, Map.of(), new CudaAlgorithms(false)));
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, Tensor> feeds = new java.util.LinkedHashMap<>();
        for (int i = 0; i < in.size(); i++) {
            float[] v = new float[(int) in.get(i).size()];
            for (int j = 0; j < v.length; j++) v[j] = (float) (r.nextDouble() * 2 - 1);
            feeds.put("x" + i, Tensor.of(in.get(i), v));
        }
        try (Session f = Session.open(fused, CUDA, SessionOptions.defaults());
             Session u = Session.open(unfused, CUDA, SessionOptions.defaults())) {
            float[] got = f.run(feeds).get("y").toFloatArray(), want = u.run(feeds).get("y").toFloatArray();
            String ran = f.algorithm(id(fused, "conv"));
            assertTrue(ran.endsWith(ConvAlgorithm.RELU_SUFFIX), ran);
            assertEquals(Plan.FUSED_PREFIX + id(fused, "conv"), f.algorithm(id(fused, "relu")));
            if (CUDA.unavailableReason() == null && !(CUDA instanceof CudaBackend)) {   // emulated: same kernels
                for (int i = 0; i < want.length; i++)
                    assertEquals(Float.floatToIntBits(want[i]), Float.floatToIntBits(got[i]), "element " + i + " of " + k);
            }
        }
    }

    /**
     * The pass after a cuDNN engine whose graph did not apply them, on the emulated device: every combination of
     * bias and ReLU over values with NaN, infinities and both zeros, bit for bit against Java's float addition
     * and Math.max (the reference's ReLU: -0 becomes +0, NaN stays NaN).
     */
    @Test
    @Tag("cuda-kernels")
    void theEpilogueAddsTheBiasThenAppliesTheRelu() {
        assumeTrue(EmulatedDevice.unavailableReason() == null, () -> "g++: " + EmulatedDevice.unavailableReason());
        ConvCase k = new ConvCase(2, 2, 4, 5, 3, 3, 2, 1, 1, 1, 0, 0, 1, 1, 1, 1, true);
        Node conv = ConvProblemTest.node(k.conv(), k.x(), k.weight(), Shape.of(k.o()));
        ConvProblem p = ConvProblem.of(conv);
        int total = (int) k.output().size(), plane = (int) (k.output().size() / k.output().dim(0) / k.o());
        float[] y0 = new float[total];
        SplittableRandom r = new SplittableRandom(7);
        for (int i = 0; i < total; i++) y0[i] = (float) (r.nextDouble() * 4 - 2);
        float[] specials = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0f, 0f, -1e-30f};
        System.arraycopy(specials, 0, y0, 3, specials.length);
        float[] bias = {0.5f, -0f, -0.25f};
        try (Device d = EmulatedDevice.open(CudaBackend.kernels().kernelSources()); Arena a = Arena.ofConfined()) {
            long x = d.alloc(4 * k.x().size()), w = d.alloc(4 * k.weight().size()), b = d.alloc(4L * bias.length);
            long y = d.alloc(4L * total);
            d.copyToDevice(a.allocateFrom(ValueLayout.JAVA_FLOAT, bias), 0, b, 4L * bias.length);
            CudaNode node = new CudaNode(conv, "", new long[] {x, w, b}, new long[] {y}, d);
            CudaConvKernels.Roles at = CudaConvKernels.Roles.of(node, p);
            assertEquals(null, CudaConvKernels.epilogue(node, p, at, false, false), "nothing to apply: no pass");
            for (boolean withBias : new boolean[] {false, true}) {
                for (boolean relu : new boolean[] {false, true}) {
                    if (!withBias && !relu) continue;
                    d.copyToDevice(a.allocateFrom(ValueLayout.JAVA_FLOAT, y0), 0, y, 4L * total);
                    CudaConvKernels.epilogue(node, p, at, withBias, relu).run();
                    MemorySegment host = a.allocate(4L * total);
                    d.copyToHost(y, host, 0, 4L * total);
                    for (int i = 0; i < total; i++) {
                        float v = withBias ? y0[i] + bias[(i / plane) % bias.length] : y0[i];
                        float want = relu ? (float) Math.max((double) v, 0.0) : v;
                        float got = host.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                        assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(got),
                                "bias " + withBias + ", relu " + relu + ", element " + i + " (y " + y0[i] + ")");
                    }
                }
            }
        }
    }

    /** A plan whose fusions only the cpu backend applies (conv + batch norm + ReLU) is refused, naming the nodes. */
    @Test
    @Tag("cuda-kernels")
    void aFusionNoCudaKernelAppliesIsRefusedNamingTheNodes() {
        var b = new GraphBuilder(DType.F32, false);
        Value x = b.input("x", 1, 2, 6, 6);
        Value c = b.conv2d("conv", x, 3, 3, ConvSpec.defaults());
        b.output("y", b.leakyRelu(c, 0.2));
        Plan cpu = Compiler.compile(b.build(), new CpuBackend().target());
        assertTrue(entry(cpu, "conv").endsWith("+leaky_relu"), entry(cpu, "conv"));
        var e = assertThrows(IllegalStateException.class, () -> CUDA.load(cpu, SessionOptions.defaults()).close());
        assertTrue(e.getMessage().contains("into node 'conv' (Conv2d, entry '" + entry(cpu, "conv") + "')")
                && e.getMessage().contains("(LeakyRelu)]")
                && e.getMessage().contains("the cuda backend fuses only a ReLU into the Conv2d it reads"), e.getMessage());
    }

    /** Closing a program closes every kernel once (the cuDNN kernels release their descriptors there). */
    @Test
    @Tag("cuda-kernels")
    void closingAProgramClosesEveryKernelOnce() {
        assumeTrue(EmulatedDevice.unavailableReason() == null, () -> "g++: " + EmulatedDevice.unavailableReason());
        AtomicInteger closed = new AtomicInteger();
        CudaKernelRegistry r = new CudaKernelRegistry();
        r.register(dev.stride.graph.op.Unary.class, (op, node) -> new CudaKernel() {
            @Override public void run(dev.stride.engine.RunContext ctx) {}

            @Override public void close() { closed.incrementAndGet(); }
        });
        var b = new GraphBuilder(DType.F32, false);
        b.output("y", b.relu(b.sigmoid(b.tanh(b.input("x", 4)))));
        Plan plan = Compiler.compile(b.build(), CudaBackend.emulated().target());
        var program = new CudaProgram(plan, r, EmulatedDevice.open(r.kernelSources()));
        assertEquals(0, closed.get());
        program.close();
        assertEquals(3, closed.get());
    }

    /** A Conv2d node (not a Conv2d op class mix-up) is what the fused entry's kernel needs. */
    @Test
    @Tag("cuda-kernels")
    void aReluEntryOnAnotherPassIsRefused() {
        assumeTrue(EmulatedDevice.unavailableReason() == null, () -> "g++: " + EmulatedDevice.unavailableReason());
        ConvCase k = ConvCase.draw(5);
        Conv2d conv = k.conv();
        Node data = ConvProblemTest.node(conv.backwardData(k.h(), k.w()), k.output(), k.weight());
        try (Device d = EmulatedDevice.open(CudaBackend.kernels().kernelSources())) {
            long[] in = {d.alloc(4 * k.output().size()), d.alloc(4 * k.weight().size())};
            long[] out = {d.alloc(4 * k.x().size())};
            var e = assertThrows(IllegalArgumentException.class,
                    () -> CudaBackend.kernels().create(new CudaNode(data, CudaAlgorithms.FUSED_RELU, in, out, d)));
            assertTrue(e.getMessage().contains("a ReLU is fused only into a forward convolution, not a BACKWARD_DATA pass"),
                    e.getMessage());
        }
    }
}
