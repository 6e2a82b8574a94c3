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
import dev.stride.graph.op.BatchNorm2dInfer;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Unary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
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

    /**
     * conv -> relu, conv -> batch norm (inference) -> relu and conv -> batch norm are fused; a conv output also read
     * elsewhere, or followed by another activation, is not.
     */
    @Test
    @Tag("cuda-kernels")
    void onlyAReluThatIsTheConvolutionsSoleReaderIsFused() {
        var b = new GraphBuilder(DType.F32, false);
        Value x = b.input("x", 1, 2, 6, 6);
        b.output("a", b.apply("relu_a", new Unary(Unary.Fn.RELU, 0, 0),
                b.conv2d("conv_a", x, 3, 3, ConvSpec.defaults())));
        b.output("b", b.apply("relu_b", new Unary(Unary.Fn.RELU, 0, 0),
                b.conv2d("conv_b", x, 3, 3, ConvSpec.defaults().bias(false))));
        Value c = b.conv2d("conv_c", x, 3, 3, ConvSpec.defaults());
        b.output("c", b.relu(c));
        b.output("c_raw", c);                                        // the conv output is a graph output too
        b.output("d", b.leakyRelu(b.conv2d("conv_d", x, 3, 3, ConvSpec.defaults()), 0.1));
        Value e = b.conv2d("conv_e", x, 3, 3, ConvSpec.defaults());
        b.output("e", b.add(b.relu(e), e));                          // a second reader
        b.output("f", b.relu(b.batchNorm2d("bn_f", b.conv2d("conv_f", x, 3, 3, ConvSpec.defaults().bias(false)))));
        b.output("g", b.batchNorm2d("bn_g", b.conv2d("conv_g", x, 3, 3, ConvSpec.defaults())));
        Plan plan = Compiler.compile(b.build(), CUDA.target());

        assertEquals(CudaAlgorithms.FUSED_RELU, entry(plan, "conv_a"));
        assertEquals(Plan.FUSED_PREFIX + id(plan, "conv_a"), entry(plan, "relu_a"));
        assertEquals(CudaAlgorithms.FUSED_RELU, entry(plan, "conv_b"));
        assertEquals(Plan.FUSED_PREFIX + id(plan, "conv_b"), entry(plan, "relu_b"));
        assertEquals("cudnn+bn+relu", entry(plan, "conv_f"));
        assertEquals("cudnn+bn", entry(plan, "conv_g"));
        for (String conv : List.of("conv_c", "conv_d", "conv_e")) assertEquals("", entry(plan, conv), conv);
        List<String> fusedInto = new ArrayList<>();
        for (Node n : plan.graph().nodes()) {
            int head = Plan.fusedInto(plan.algorithms().get(n.id()));
            if (head >= 0) fusedInto.add(n.op().kind() + "->" + plan.graph().nodes().get(head).name());
        }
        assertEquals(List.of("Relu->conv_a", "Relu->conv_b", "BatchNorm2dInfer->conv_f", "Relu->conv_f",
                "BatchNorm2dInfer->conv_g"), fusedInto);
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
     * conv -> followers, the batch norm's parameters and running statistics as graph inputs x_bn0..3 (gamma, beta,
     * mean, var) so that every run sees new ones; the fusable chain of {@link CudaAlgorithms}.
     */
    private static Value chain(GraphBuilder b, ConvCase k, List<Value> xs, ConvAlgorithm.Followers f) {
        int conv = k.bias() ? 3 : 2;
        Value h = b.apply("conv", k.conv(), xs.subList(0, conv).toArray(Value[]::new));
        if (f.bn()) h = b.apply("bn", new BatchNorm2dInfer(1e-3), h, xs.get(conv), xs.get(conv + 1), xs.get(conv + 2),
                xs.get(conv + 3));
        if (f.relu()) h = b.apply("relu", new Unary(Unary.Fn.RELU, 0, 0), h);
        return h;
    }

    /** A positive running variance for the batch norm's input {@code index}, some below its eps. */
    private static Tensor variance(int channels, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[channels];
        for (int i = 0; i < channels; i++) v[i] = (float) (r.nextInt(4) == 0 ? 1e-4 * r.nextDouble() : 0.1 + 2 * r.nextDouble());
        return Tensor.of(Shape.of(channels), v);
    }

    /**
     * Random convolutions ({@link ConvCase}) followed by a batch norm in inference mode and/or a ReLU: the fused
     * plan against the float64 reference, and, on the emulated device, bit for bit against the same graph compiled
     * without fusion; the session reports the fusion.
     */
    @Property(tries = 60)
    void aFusedConvolutionComputesWhatTheUnfusedOneDoes(@ForAll long seed) {
        ConvCase k = ConvCase.draw(seed);
        ConvAlgorithm.Followers f = List.of(new ConvAlgorithm.Followers(false, true), new ConvAlgorithm.Followers(true,
                false), new ConvAlgorithm.Followers(true, true)).get((int) Math.floorMod(seed >>> 7, 3));
        List<Shape> in = new ArrayList<>(List.of(k.x(), k.weight()));
        if (k.bias()) in.add(Shape.of(k.o()));
        int varIndex = in.size() + 3;
        if (f.bn()) for (int i = 0; i < 4; i++) in.add(Shape.of(k.o()));
        Tensor var = variance(k.o(), seed);
        CudaCrossBackend.Options options = CudaCrossBackend.Options.forward("conv");
        CudaCrossBackend.check(in, (b, xs) -> List.of(chain(b, k, xs, f)), seed,
                f.bn() ? options.withInput(varIndex, var) : options);

        var b = new GraphBuilder(DType.F32, false);
        List<Value> xs = new ArrayList<>();
        for (int i = 0; i < in.size(); i++) xs.add(b.input("x" + i, in.get(i)));
        b.output("y", chain(b, k, xs, f));
        Graph g = b.build();
        Plan fused = Compiler.compile(g, CUDA.target());
        Plan unfused = Compiler.compile(g, new Compiler.Target(CudaBackend.NAME, Map.of(), new CudaAlgorithms(false)));
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, Tensor> feeds = new java.util.LinkedHashMap<>();
        for (int i = 0; i < in.size(); i++) {
            float[] v = new float[(int) in.get(i).size()];
            for (int j = 0; j < v.length; j++) v[j] = (float) (r.nextDouble() * 2 - 1);
            feeds.put("x" + i, f.bn() && i == varIndex ? var : Tensor.of(in.get(i), v));
        }
        try (Session fs = Session.open(fused, CUDA, SessionOptions.defaults());
             Session us = Session.open(unfused, CUDA, SessionOptions.defaults())) {
            float[] got = fs.run(feeds).get("y").toFloatArray(), want = us.run(feeds).get("y").toFloatArray();
            assertEquals("cudnn" + f.suffix(), fused.algorithms().get(id(fused, "conv")));
            String ran = fs.algorithm(id(fused, "conv"));
            assertTrue(ran.endsWith(f.suffix()), ran);
            for (String follower : f.bn() && f.relu() ? List.of("bn", "relu") : List.of(f.bn() ? "bn" : "relu"))
                assertEquals(Plan.FUSED_PREFIX + id(fused, "conv"), fs.algorithm(id(fused, follower)));
            if (CUDA.unavailableReason() == null && !(CUDA instanceof CudaBackend)) {   // emulated: same kernels
                for (int i = 0; i < want.length; i++)
                    assertEquals(Float.floatToIntBits(want[i]), Float.floatToIntBits(got[i]), "element " + i + " of " + k
                            + " " + f);
            }
        }
    }

    /**
     * The pass after a cuDNN engine whose graph did not apply them, on the emulated device: every combination of
     * bias, batch norm (coefficients (scale, shift) per channel, in double) and ReLU over values with NaN,
     * infinities and both zeros, bit for bit against Java: float addition, v * scale + shift in double rounded once
     * (the reference's batch norm), and Math.max (the reference's ReLU: -0 becomes +0, NaN stays NaN).
     */
    @Test
    @Tag("cuda-kernels")
    void theEpilogueAddsTheBiasThenNormalizesThenAppliesTheRelu() {
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
        double[] coef = {1.5, -0.125, -0.75, 0.0, 1e-3, 2.0};   // (scale, shift) per channel
        try (Device d = EmulatedDevice.open(CudaBackend.kernels().kernelSources()); Arena a = Arena.ofConfined()) {
            long x = d.alloc(4 * k.x().size()), w = d.alloc(4 * k.weight().size()), b = d.alloc(4L * bias.length);
            long y = d.alloc(4L * total), c = d.alloc(8L * coef.length);
            d.copyToDevice(a.allocateFrom(ValueLayout.JAVA_FLOAT, bias), 0, b, 4L * bias.length);
            d.copyToDevice(a.allocateFrom(ValueLayout.JAVA_DOUBLE, coef), 0, c, 8L * coef.length);
            CudaNode node = new CudaNode(conv, "", new long[] {x, w, b}, new long[] {y}, d);
            CudaConvKernels.Roles at = CudaConvKernels.Roles.of(node, p);
            assertEquals(null, CudaConvKernels.epilogue(node, p, at, false, 0, false), "nothing to apply: no pass");
            for (int flags = 1; flags < 8; flags++) {
                boolean withBias = (flags & 1) != 0, bn = (flags & 2) != 0, relu = (flags & 4) != 0;
                d.copyToDevice(a.allocateFrom(ValueLayout.JAVA_FLOAT, y0), 0, y, 4L * total);
                CudaConvKernels.epilogue(node, p, at, withBias, bn ? c : 0, relu).run();
                MemorySegment host = a.allocate(4L * total);
                d.copyToHost(y, host, 0, 4L * total);
                for (int i = 0; i < total; i++) {
                    int ch = (i / plane) % bias.length;
                    float v = withBias ? y0[i] + bias[ch] : y0[i];
                    if (bn) v = (float) (v * coef[2 * ch] + coef[2 * ch + 1]);
                    float want = relu ? (float) Math.max((double) v, 0.0) : v;
                    float got = host.getAtIndex(ValueLayout.JAVA_FLOAT, i);
                    assertEquals(Float.floatToIntBits(want), Float.floatToIntBits(got),
                            "bias " + withBias + ", bn " + bn + ", relu " + relu + ", element " + i + " (y " + y0[i] + ")");
                }
            }
        }
    }

    /** A plan whose fusions only the cpu backend applies (conv + leaky ReLU) is refused, naming the nodes. */
    @Test
    @Tag("cuda-kernels")
    void aFusionNoCudaKernelAppliesIsRefusedNamingTheNodes() {
        CudaCrossBackend.assumeUsable();
        var b = new GraphBuilder(DType.F32, false);
        Value x = b.input("x", 1, 2, 6, 6);
        Value c = b.conv2d("conv", x, 3, 3, ConvSpec.defaults());
        b.output("y", b.leakyRelu(c, 0.2));
        Plan cpu = Compiler.compile(b.build(), new CpuBackend().target());
        assertTrue(entry(cpu, "conv").endsWith("+leaky_relu"), entry(cpu, "conv"));
        var e = assertThrows(IllegalStateException.class, () -> CUDA.load(cpu, SessionOptions.defaults()).close());
        assertTrue(e.getMessage().contains("into node 'conv' (Conv2d, entry '" + entry(cpu, "conv") + "')")
                && e.getMessage().contains("(LeakyRelu)]")
                && e.getMessage().contains("the cuda backend fuses only a batch norm (inference) and/or a ReLU into the"
                + " Conv2d they follow; recompile the plan for the cuda target"), e.getMessage());
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
            assertTrue(e.getMessage().contains("a batch norm or ReLU is fused only into a forward convolution, not a"
                    + " BACKWARD_DATA pass"), e.getMessage());
        }
    }
}
