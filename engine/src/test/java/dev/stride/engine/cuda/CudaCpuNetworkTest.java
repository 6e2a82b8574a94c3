package dev.stride.engine.cuda;

import dev.stride.engine.Backend;
import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.engine.cpu.CpuBackend;
import dev.stride.graph.Autodiff;
import dev.stride.graph.Compiler;
import dev.stride.graph.ConvSpec;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.PoolSpec;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AddLifecycleHook;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The cuda backend against the cpu backend on whole random networks, as a user trains them: a random stack of
 * convolutions (stride, padding, dilation, groups, with and without bias), batch norm in training mode, the
 * activations, max and average pooling, residual additions, channel concatenations and dropout, then global
 * average pooling or flattening, a dense layer and the softmax cross-entropy. Both backends run the same float32
 * training graph from the same parameters at the same step, and the reference backend runs it in float64 as the
 * oracle. For the loss, the gradient of the input and of every parameter, and the batch norms' updated running
 * statistics, the cuda backend must be as close to the oracle as the cpu backend is ({@link #AS_CLOSE}), or
 * closer than {@link #RELATIVE}. Forward and backward kernels of every family are exercised in composition, which
 * the per-op suites do not do. The cuda backend is the emulated device here, the GPU with
 * {@code -Dstride.cuda.device=gpu}.
 *
 * <p>Why the oracle and not a direct cuda-cpu bound: batch norm makes random networks ill-conditioned (a channel
 * of small variance after a sigmoid divides by a small standard deviation; a bias before it, or a 1x1 convolution
 * of one channel into it, has a gradient of exactly zero, which both float32 backends compute as rounding noise).
 * How far float32 may be from exact there is what the cpu backend shows.
 */
@net.jqwik.api.Tag("cuda-kernels")
@AddLifecycleHook(CudaCrossBackend.SkipUnlessUsable.class)
class CudaCpuNetworkTest {
    /**
     * rms(cuda - oracle) may be this many times rms(cpu - oracle): both sum in float32 in different orders (vector
     * lanes and GEMM blocking on the cpu, cuDNN's or the direct kernels' order on cuda), so their errors are of the
     * same size; a wrong kernel is off by far more.
     */
    static final double AS_CLOSE = 10;

    /**
     * rms(cuda - oracle) that passes whatever the cpu backend's error, relative to the larger of rms(oracle) and
     * the scale of its kind (the largest gradient of the network, the largest running statistic): float32 rounding.
     * The scale matters for values that are zero in exact arithmetic (a batch norm's running mean when another batch
     * norm precedes it), whose float32 value is rounding noise of the size of the data it was summed from.
     */
    static final double RELATIVE = 1e-5;

    private static final int BATCH_NORM = 2;

    private static final Backend CUDA = CudaCrossBackend.backend();

    /** A drawn network: its training graph, its number of classes, and its layers in words (for messages). */
    record Net(Graph graph, int classes, List<String> layers) {}

    static Net network(long seed, DType dtype) {
        List<String> layers = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(seed);
        int n = 1 + r.nextInt(3), classes = 2 + r.nextInt(4);
        GraphBuilder b = new GraphBuilder(dtype, true, seed);
        Value x = b.input("x", n, 1 + r.nextInt(3), 6 + r.nextInt(6), 6 + r.nextInt(6));
        Value labels = b.input("labels", n);
        Value h = x;
        int[] kinds = new int[2 + r.nextInt(4)];
        for (int i = 0; i < kinds.length; i++) kinds[i] = r.nextInt(8);
        for (int i = 0; i < kinds.length; i++) {
            Shape s = h.shape();
            int c = s.dim(1), hh = s.dim(2), ww = s.dim(3);
            String name = "l" + i;
            boolean bias = r.nextBoolean();
            switch (kinds[i]) {
                case 0, 1 -> {                                           // convolution
                    int k = 1 + r.nextInt(3), stride = 1 + r.nextInt(2), pad = r.nextInt(2), dil = 1 + r.nextInt(2);
                    int groups = c > 1 && r.nextBoolean() ? c : 1;
                    int out = groups > 1 ? c * (1 + r.nextInt(2)) : 1 + r.nextInt(4);
                    if ((hh + 2 * pad - dil * (k - 1) - 1) < 0 || (ww + 2 * pad - dil * (k - 1) - 1) < 0) {
                        k = 1;
                        dil = 1;
                    }
                    h = b.conv2d(name, h, out, k, ConvSpec.defaults().stride(stride).pad(pad).dilation(dil)
                            .groups(groups).bias(bias));
                    layers.add("conv " + k + "x" + k + "/" + stride + " pad " + pad + " dil " + dil + " groups " + groups
                            + " -> " + out + (bias ? "" : " no bias"));
                }
                case BATCH_NORM -> {                                     // where the statistics are sound
                    if ((long) n * hh * ww < 8) continue;
                    h = b.batchNorm2d(name, h);
                    layers.add("batchnorm");
                }
                case 3 -> {                                              // activation
                    int a = r.nextInt(6);
                    h = switch (a) {
                        case 0 -> b.relu(h);
                        case 1 -> b.leakyRelu(h, 0.1);
                        case 2 -> b.elu(h, 1.0);
                        case 3 -> b.sigmoid(h);
                        case 4 -> b.tanh(h);
                        default -> b.prelu(name, h, true);
                    };
                    layers.add(List.of("relu", "leaky relu", "elu", "sigmoid", "tanh", "prelu").get(a));
                }
                case 4 -> {                                              // pooling
                    if (hh < 2 || ww < 2) continue;
                    boolean max = r.nextBoolean();
                    int stride = 1 + r.nextInt(2);
                    PoolSpec p = PoolSpec.of(2).stride(stride);
                    h = max ? b.maxPool2d(h, p) : b.avgPool2d(h, p);
                    layers.add((max ? "max" : "avg") + " pool 2/" + stride);
                }
                case 5 -> {                                              // residual block
                    h = b.add(h, b.conv2d(name, b.relu(h), c, 3, ConvSpec.defaults().pad(1).bias(bias)));
                    layers.add("residual 3x3");
                }
                case 6 -> {                                              // concatenation of a 1x1 branch
                    h = b.concat(1, h, b.conv2d(name, h, 1 + r.nextInt(3), 1, ConvSpec.defaults().bias(bias)));
                    layers.add("concat 1x1");
                }
                default -> {
                    h = b.dropout(h, 0.3);
                    layers.add("dropout");
                }
            }
        }
        boolean global = r.nextBoolean();
        h = global ? b.flatten(b.globalAvgPool(h)) : b.flatten(h);
        Value logits = b.dense("fc", h, classes);
        layers.add((global ? "global avg pool" : "flatten") + ", dense -> " + classes);
        Value loss = b.softmaxCrossEntropy(logits, labels);
        b.output("loss", loss);
        List<Value> wrt = new ArrayList<>(b.params());
        wrt.add(x);
        for (var e : Autodiff.gradients(b, loss, wrt).entrySet()) b.output("grad:" + e.getKey().name(), e.getValue());
        return new Net(b.build(), classes, layers);
    }

    @Property(tries = 200)
    void randomNetworksTrainAlikeOnTheCudaAndCpuBackends(@ForAll long seed) {
        Net net = network(seed, DType.F32);
        Graph g = net.graph();
        SplittableRandom r = new SplittableRandom(~seed);
        Map<String, Tensor> feeds = new LinkedHashMap<>(), feeds64 = new LinkedHashMap<>();
        for (Value in : g.inputs()) {
            float[] v = new float[(int) in.shape().size()];
            for (int i = 0; i < v.length; i++)
                v[i] = in.name().equals("labels") ? r.nextInt(net.classes()) : (float) (r.nextDouble() * 2 - 1);
            feeds.put(in.name(), Tensor.of(in.shape(), v));
            feeds64.put(in.name(), Tensor.of(in.shape(), v).as(DType.F64));
        }
        SessionOptions options = SessionOptions.defaults().withSeed(seed);
        try (Session cuda = Session.open(Compiler.compile(g, CUDA.target()), CUDA, options);
             Session cpu = Session.open(Compiler.compile(g, new CpuBackend().target()), CpuBackend.NAME, options.withThreads(2));
             Session oracle = Session.open(Compiler.compile(network(seed, DType.F64).graph()), "reference", options.withThreads(1))) {
            cpu.copyPersistentFrom(cuda);
            oracle.copyPersistentFrom(cuda);
            for (Session s : List.of(cuda, cpu, oracle)) s.setStep(5);
            Map<String, Tensor> got = cuda.run(feeds), cpuOut = cpu.run(feeds), exact = oracle.run(feeds64);
            assertEquals(exact.keySet(), got.keySet());
            double gradients = 0, statistics = 0;
            for (String name : exact.keySet()) if (name.startsWith("grad:")) gradients = Math.max(gradients, rms(exact.get(name)));
            for (String name : exact.keySet())
                compare(name, got.get(name), cpuOut.get(name), exact.get(name), gradients, net.layers());
            // The running statistics the batch norms updated.
            List<String> states = g.values().stream().filter(v -> v.kind() == Value.Kind.STATE).map(Value::name).toList();
            for (String name : states) statistics = Math.max(statistics, rms(oracle.get(name)));
            for (String name : states)
                compare(name, cuda.get(name), cpu.get(name), oracle.get(name), statistics, net.layers());
        }
    }

    private static double rms(Tensor t) {
        double sum = 0;
        for (long i = 0; i < t.size(); i++) if (!Double.isNaN(t.get(i))) sum += t.get(i) * t.get(i);
        return Math.sqrt(sum / t.size());
    }

    /** NaN exactly where the oracle has NaN; rms(cuda - oracle) within {@link #AS_CLOSE} or {@link #RELATIVE}. */
    private static void compare(String name, Tensor cuda, Tensor cpu, Tensor exact, double scale, List<String> layers) {
        assertEquals(exact.shape(), cuda.shape(), name);
        double cudaErr = 0, cpuErr = 0, norm = 0;
        for (long i = 0; i < exact.size(); i++) {
            double e = exact.get(i);
            if (Double.isNaN(e) != Double.isNaN(cuda.get(i)))
                fail(name + " at " + i + ": cuda " + cuda.get(i) + ", float64 reference " + e + "; network " + layers);
            if (Double.isNaN(e)) continue;
            cudaErr += (cuda.get(i) - e) * (cuda.get(i) - e);
            cpuErr += (cpu.get(i) - e) * (cpu.get(i) - e);
            norm += e * e;
        }
        double n = exact.size();
        cudaErr = Math.sqrt(cudaErr / n);
        cpuErr = Math.sqrt(cpuErr / n);
        double size = Math.max(Math.sqrt(norm / n), scale), allowed = Math.max(AS_CLOSE * cpuErr, RELATIVE * size);
        if (!(cudaErr <= allowed))
            fail(name + " " + exact.shape() + ": rms(cuda - float64) = " + cudaErr + " > max(" + AS_CLOSE
                    + " * rms(cpu - float64) = " + AS_CLOSE * cpuErr + ", " + RELATIVE + " * " + size + "); network "
                    + layers);
    }
}
