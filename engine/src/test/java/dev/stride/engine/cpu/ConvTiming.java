package dev.stride.engine.cpu;

import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Autodiff;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Plan;
import dev.stride.graph.Value;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.SumTo;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A quick timing loop for tuning the GEMM convolution kernels (not a benchmark: the JMH ones live in bench/).
 * For each layer it builds a graph, opens a cpu session, runs it for 2 s of warm-up, then times {@code reps}
 * runs of {@code Session.run} (which includes copying the outputs out) and prints GFLOP/s of the best and the
 * median run, counting 2 * N*O*C*kH*kW*Ho*Wo per convolution. Weights are parameters, packed once.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp engine/target/classes:engine/target/test-classes:graph/target/classes \
 *     dev.stride.engine.cpu.ConvTiming [threads] [reps] [mode] [layer name filter]</pre>
 *
 * Modes: {@code fwd} (conv + bias + ReLU, fused), {@code plain} (conv alone), {@code convt} (ConvTranspose2d
 * with the layer's geometry, input [n, c, hw, hw], c -> o channels, no bias), {@code bwdata} / {@code bwfilter}
 * (the gradient op alone, its inputs fed), {@code train} / {@code trainx} / {@code trainw} (forward and
 * gradients through Autodiff, whose loss ops may still run on reference kernels). With
 * {@code -Dstride.timing.all=true} every run's time is printed; {@code -Dstride.timing.algorithm=im2col} forces
 * that algorithm on every convolution and its gradients (the heuristic chooses otherwise).
 */
public final class ConvTiming {
    record Layer(String name, int n, int c, int o, int hw, int k, int stride, int pad) {}

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        String mode = args.length > 2 ? args[2] : "fwd";
        boolean train = mode.startsWith("train"), plain = args.length > 2 && args[2].equals("plain");
        String only = args.length > 3 ? args[3] : "";
        Layer[] layers = {
                new Layer("resnet18 layer1 3x3 64 56x56 b1", 1, 64, 64, 56, 3, 1, 1),
                new Layer("resnet18 layer1 3x3 64 56x56 b8", 8, 64, 64, 56, 3, 1, 1),
                new Layer("vgg16 conv1_2 3x3 64 224x224 b1", 1, 64, 64, 224, 3, 1, 1),
                new Layer("vgg16 conv1_1 3x3 3->64 224 b1", 1, 3, 64, 224, 3, 1, 1),
                new Layer("resnet18 conv1 7x7/2 3->64 224 b1", 1, 3, 64, 224, 7, 2, 3),
                new Layer("resnet18 layer3 3x3 256 14x14 b1", 1, 256, 256, 14, 3, 1, 1),
                new Layer("resnet18 layer4 3x3 512 7x7 b1", 1, 512, 512, 7, 3, 1, 1),
                new Layer("vgg16 conv5 3x3 512 14x14 b1", 1, 512, 512, 14, 3, 1, 1),
                new Layer("1x1 256->64 56x56 b1", 1, 256, 64, 56, 1, 1, 0),
                // small planes at a training batch: the batched (images side by side) GEMM paths
                new Layer("lenet c1 5x5 1->6 28 pad2 b64", 64, 1, 6, 28, 5, 1, 2),
                new Layer("lenet c3 5x5 6->16 14 b64", 64, 6, 16, 14, 5, 1, 0),
                new Layer("dcgan d.conv1 4x4/2 1->64 28 b64", 64, 1, 64, 28, 4, 2, 1),
                new Layer("dcgan d.conv2 4x4/2 64->128 14 b64", 64, 64, 128, 14, 4, 2, 1),
                new Layer("dcgan d.conv3 7x7 128->1 7 b64", 64, 128, 1, 7, 7, 1, 0),
                new Layer("dcgan g.deconv1 (convt) 7x7 100->128 1x1 b64", 64, 100, 128, 1, 7, 1, 0),
                new Layer("dcgan g.deconv2 (convt) 4x4/2 128->64 7 b64", 64, 128, 64, 7, 4, 2, 1),
                new Layer("valid 3x3 64 14x14 b8", 8, 64, 64, 14, 3, 1, 0),
                new Layer("valid 3x3 32 28x28 b8", 8, 32, 32, 28, 3, 1, 0),
                new Layer("resnet18 layer4 3x3 512 7x7 b8", 8, 512, 512, 7, 3, 1, 1),
                new Layer("resnet18 layer3 3x3 256 14x14 b8", 8, 256, 256, 14, 3, 1, 1),
                new Layer("resnet18 layer2 3x3 128 28x28 b8", 8, 128, 128, 28, 3, 1, 1),
        };
        System.out.println(CpuBackend.info() + ", threads " + threads + ", mode " + mode);
        for (Layer l : layers) {
            if (!l.name().contains(only) || mode.equals("convt") != l.name().contains("(convt)")) continue;
            GraphBuilder b = new GraphBuilder(DType.F32, train, 1);
            Value x = b.input("x", l.n(), l.c(), l.hw(), l.hw());
            // Weights are parameters, as in a compiled model: packed once, not per run.
            var spec = dev.stride.graph.ConvSpec.defaults().stride(l.stride()).pad(l.pad()).bias(!plain);
            boolean convt = mode.equals("convt");
            // a convolution or (convt) the transposed one, whose adjoint convolution takes y's size to x's
            Value y = convt ? b.convTranspose2d("convt", x, l.o(), l.k(), spec.bias(false))
                    : b.conv2d("conv", x, l.o(), l.k(), spec);
            Map<String, int[]> feeds = new LinkedHashMap<>();
            feeds.put("x", x.shape().dims());
            int pixels = convt ? l.hw() * l.hw() : y.shape().dim(2) * y.shape().dim(3);
            long flops = 2L * l.n() * l.o() * l.c() * l.k() * l.k() * pixels;
            if (convt) {
                b.output("y", y);
            } else if (mode.equals("bwdata") || mode.equals("bwfilter")) {
                // the gradient op alone, its inputs fed: no loss ops (which run on reference kernels) in the timing
                b = new GraphBuilder(DType.F32, false, 1);
                Conv2d op = spec.conv2d(l.hw(), l.hw(), l.k(), l.k());
                Value dy = b.input("dy", y.shape());
                feeds = new LinkedHashMap<>();
                feeds.put("dy", y.shape().dims());
                if (mode.equals("bwdata")) {
                    Value w = b.param("w", dev.stride.graph.Shape.of(l.o(), l.c(), l.k(), l.k()), dev.stride.graph.Init.kaimingNormal());
                    b.output("dx", b.apply("dx", op.backwardData(l.hw(), l.hw()), dy, w));
                } else {
                    Value x2 = b.input("x", x.shape());
                    feeds.put("x", x.shape().dims());
                    b.output("dw", b.apply("dw", op.backwardFilter(l.k(), l.k()), x2, dy));
                }
            } else if (train) {
                Value r = b.input("r", y.shape());
                feeds.put("r", y.shape().dims());
                Value loss = b.apply("loss", new SumTo(new int[0]), b.apply("mul", new Binary(Binary.Kind.MUL), y, r));
                var wrt = mode.equals("trainx") ? java.util.List.of(x) : mode.equals("trainw") ? java.util.List.of(b.value("conv/weight"))
                        : java.util.List.of(x, b.value("conv/weight"));
                for (var e : Autodiff.gradients(b, loss, wrt).entrySet())
                    b.output("grad_" + e.getKey().name(), e.getValue());
            } else {
                b.output("y", plain ? y : b.relu(y));
            }
            String forced = System.getProperty("stride.timing.algorithm", "");
            Plan plan = Compiler.compile(b.build(), forced.isEmpty() ? new CpuBackend().target()
                    : ConvTesting.forcing(Map.of(Conv2d.class, forced, dev.stride.graph.op.Conv2dBackwardData.class, forced,
                            dev.stride.graph.op.Conv2dBackwardFilter.class, forced)));
            if (train) flops *= mode.equals("train") ? 3 : 2;
            Random rnd = new Random(1);
            Map<String, Tensor> in = new LinkedHashMap<>();
            for (var e : feeds.entrySet()) {
                Tensor t = Tensor.zeros(DType.F32, dev.stride.graph.Shape.of(e.getValue()));
                for (long i = 0; i < t.size(); i++) t.set(i, (float) (rnd.nextDouble() * 2 - 1));
                in.put(e.getKey(), t);
            }
            try (Session s = Session.open(plan, "cpu", SessionOptions.defaults().withThreads(threads))) {
                long warm = System.nanoTime();
                while (System.nanoTime() - warm < 2_000_000_000L) s.run(in);
                double[] t = new double[reps];
                for (int i = 0; i < reps; i++) {
                    long t0 = System.nanoTime();
                    s.run(in);
                    t[i] = (System.nanoTime() - t0) * 1e-9;
                }
                if (Boolean.getBoolean("stride.timing.all")) System.out.println(java.util.Arrays.toString(t));
                java.util.Arrays.sort(t);
                System.out.printf("%-36s %8.1f MFLOP  best %6.1f  median %6.1f GFLOP/s  (%.2f ms median)%n", l.name(),
                        flops / 1e6, flops / t[0] / 1e9, flops / t[reps / 2] / 1e9, t[reps / 2] * 1e3);
            }
        }
    }
}
