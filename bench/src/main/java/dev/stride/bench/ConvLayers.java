package dev.stride.bench;

import dev.stride.engine.Session;
import dev.stride.engine.cpu.ConvChooser;
import dev.stride.engine.cpu.CpuAlgorithms;
import dev.stride.engine.cpu.CpuBackend;
import dev.stride.engine.cpu.CpuKernelRegistry;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Init;
import dev.stride.graph.Node;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Slice;
import dev.stride.zoo.ImageClassifier;
import dev.stride.zoo.Zoo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The distinct convolution layers of the benchmarked networks, read from the zoo's graphs (nothing here types a
 * shape): two layers are the same when input channels, height, width, weight shape, bias and every Conv2d attribute
 * agree (the batch is the benchmark's). A layer is named by its network and the PyTorch name of its first
 * occurrence, {@code resnet18:layer2.0.conv1}.
 *
 * <p>Networks: ResNet-18 and VGG-16 (every distinct layer), and MobileNet v1, whose depthwise and 1x1 layers are
 * the only ones the {@code depthwise} and {@code gemm1x1} algorithms apply to (ResNet-18's 1x1 layers have stride 2).
 * {@code java -cp benchmarks.jar dev.stride.bench.ConvLayers [size]} prints them.
 */
public final class ConvLayers {
    private ConvLayers() {}

    public static final List<String> NETWORKS = List.of("resnet18", "vgg16", "mobilenet_v1");
    /** The algorithms of the cpu backend's Conv2d, and the reference kernel it falls back to. */
    public static final List<String> ALGORITHMS = List.of(ConvChooser.IM2COL, ConvChooser.GEMM_1X1,
            ConvChooser.WINOGRAD_F2, ConvChooser.WINOGRAD_F4, ConvChooser.DEPTHWISE);
    public static final String REFERENCE = CpuAlgorithms.REFERENCE;

    /**
     * One distinct layer: input [N, channels, height, width], weight [out, channels/groups, kH, kW], with a bias or
     * not; {@code occurrences} counts the layers of the network with this signature.
     */
    public record Layer(String key, String network, String node, int channels, int height, int width, Shape weight,
                        boolean bias, Conv2d op, int occurrences) {
        public int out() { return weight.dim(0); }

        /** The output shape for a batch of {@code n}, by the op's shape rule. */
        public Shape output(int n) { return op.inferShapes(List.of(Shape.of(n, channels, height, width), weight)).getFirst(); }

        /** Plan.flops() of the layer for a batch of {@code n}: direct convolution, a multiply-add counted 2. */
        public long flops(int n) {
            List<Shape> in = bias ? List.of(Shape.of(n, channels, height, width), weight, Shape.of(out()))
                    : List.of(Shape.of(n, channels, height, width), weight);
            return op.flops(in, List.of(output(n)));
        }

        /** "64->128 3x3 s2 p1 56x56" (plus groups and dilation when not 1, "+b" with a bias). */
        public String describe() {
            StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%d->%d %dx%d s%d", channels, out(),
                    weight.dim(2), weight.dim(3), op.strideH()));
            if (op.padTop() == op.padBottom() && op.padLeft() == op.padRight() && op.padTop() == op.padLeft())
                s.append(" p").append(op.padTop());
            else
                s.append(String.format(Locale.ROOT, " p%d,%d,%d,%d", op.padTop(), op.padLeft(), op.padBottom(), op.padRight()));
            if (op.groups() > 1) s.append(" g").append(op.groups());
            if (op.dilationH() > 1 || op.dilationW() > 1) s.append(" d").append(op.dilationH());
            if (bias) s.append(" +b");
            return s.append(' ').append(height).append('x').append(width).toString();
        }
    }

    private record Signature(int c, int h, int w, Shape weight, boolean bias, Conv2d op) {}

    /** The distinct conv layers of {@code network} for {@code size x size} inputs, in network order. */
    public static List<Layer> distinct(String network, int size) {
        ImageClassifier model = Zoo.classifier(network);
        Graph g = model.inferencePlan(1, size, Compiler.Target.reference()).graph();
        Map<Signature, List<Node>> groups = new LinkedHashMap<>();
        for (Node n : g.nodes()) {
            if (!(n.op() instanceof Conv2d op)) continue;
            Shape x = n.inputs().get(0).shape();
            Signature s = new Signature(x.dim(1), x.dim(2), x.dim(3), n.inputs().get(1).shape(), n.inputs().size() == 3, op);
            groups.computeIfAbsent(s, k -> new ArrayList<>()).add(n);
        }
        List<Layer> layers = new ArrayList<>();
        groups.forEach((s, nodes) -> layers.add(new Layer(network + ":" + ImageClassifier.torchName(nodes.getFirst().name()),
                network, nodes.getFirst().name(), s.c(), s.h(), s.w(), s.weight(), s.bias(), s.op(), nodes.size())));
        return layers;
    }

    /** Every distinct layer of {@link #NETWORKS}. */
    public static List<Layer> all(int size) {
        List<Layer> all = new ArrayList<>();
        for (String n : NETWORKS) all.addAll(distinct(n, size));
        return all;
    }

    /** The layer named {@code key} ({@code network:first.occurrence}) at input size {@code size}. */
    public static Layer find(String key, int size) {
        int colon = key.indexOf(':');
        if (colon < 0) throw new IllegalArgumentException("layer key '" + key + "' is not network:layer");
        String network = key.substring(0, colon);
        List<Layer> layers = distinct(network, size);
        for (Layer l : layers) if (l.key().equals(key)) return l;
        throw new IllegalArgumentException("no distinct conv layer '" + key + "' at input size " + size + "; there are "
                + layers.stream().map(Layer::key).collect(Collectors.joining(", ")));
    }

    /**
     * Whether {@code algorithm} can compute {@code layer}. The rules are those of the cpu backend's
     * {@link ConvChooser}: im2col takes every convolution; gemm1x1 a 1x1 kernel with stride 1, no padding, one group;
     * depthwise groups = input channels = output channels; Winograd F(2x2,3x3) and F(4x4,3x3) a 3x3 kernel with
     * stride 1, dilation 1, one group. The reference kernel takes everything; an unknown algorithm nothing.
     */
    public static boolean applies(Layer l, String algorithm) {
        Conv2d c = l.op();
        int kH = l.weight().dim(2), kW = l.weight().dim(3);
        boolean stride1 = c.strideH() == 1 && c.strideW() == 1;
        boolean noPad = c.padTop() == 0 && c.padLeft() == 0 && c.padBottom() == 0 && c.padRight() == 0;
        return switch (algorithm) {
            case ConvChooser.IM2COL, REFERENCE -> true;
            case ConvChooser.GEMM_1X1 -> kH == 1 && kW == 1 && stride1 && noPad && c.groups() == 1;
            case ConvChooser.DEPTHWISE -> c.groups() > 1 && c.groups() == l.channels() && l.out() == l.channels();
            case ConvChooser.WINOGRAD_F2, ConvChooser.WINOGRAD_F4 ->
                    kH == 3 && kW == 3 && stride1 && c.dilationH() == 1 && c.dilationW() == 1 && c.groups() == 1;
            default -> false;
        };
    }

    /** What {@code algorithm} needs of a layer, in words. */
    public static String requirement(String algorithm) {
        return switch (algorithm) {
            case ConvChooser.IM2COL, REFERENCE -> algorithm + " takes every convolution";
            case ConvChooser.GEMM_1X1 -> "gemm1x1 needs a 1x1 kernel, stride 1, no padding and one group";
            case ConvChooser.DEPTHWISE -> "depthwise needs groups = input channels = output channels";
            case ConvChooser.WINOGRAD_F2, ConvChooser.WINOGRAD_F4 ->
                    algorithm + " needs a 3x3 kernel, stride 1, dilation 1 and one group";
            default -> "unknown algorithm '" + algorithm + "' (one of " + ALGORITHMS + " or " + REFERENCE + ")";
        };
    }

    /** Why {@code algorithm} cannot compute {@code layer}, or null when it can. */
    public static String inapplicable(Layer l, String algorithm) {
        return applies(l, algorithm) ? null : requirement(algorithm) + "; " + l.key() + " is " + l.describe();
    }

    /** Name of the conv node in {@link #plan}'s graph. */
    static final String CONV = "conv";

    /**
     * The layer alone: {@code x} [batch, C, H, W] -> conv (its weight, and bias if the layer has one) -> a one-element
     * slice as the output. {@code x} is persistent state rather than an input, and only the slice is an output, so
     * that a run is the convolution and no copy of its input or output. Compiled for the cpu backend with the
     * convolution's algorithm forced to {@code algorithm}; no fusion.
     */
    public static Plan plan(Layer l, int batch, String algorithm) {
        GraphBuilder b = new GraphBuilder(DType.F32, false);
        Value x = b.state("x", Shape.of(batch, l.channels(), l.height(), l.width()), Init.xavierUniform());
        Value w = b.param(CONV + "/weight", l.weight(), Init.kaimingNormal());
        Value y = l.bias()
                ? b.apply(CONV, l.op(), x, w, b.param(CONV + "/bias", Shape.of(l.out()), Init.zeros()))
                : b.apply(CONV, l.op(), x, w);
        b.output("y", b.apply("first", new Slice(new int[4], new int[] {1, 1, 1, 1}), y));
        return Compiler.compile(b.build(), forcing(algorithm));
    }

    /** The cpu target with every Conv2d given {@code algorithm}; other ops as the cpu backend would, unfused. */
    static Compiler.Target forcing(String algorithm) {
        CpuKernelRegistry kernels = CpuBackend.kernels();
        return new Compiler.Target(CpuBackend.NAME, CpuBackend.info(), (Node n) -> n.op() instanceof Conv2d ? algorithm
                : kernels.supports(n.op().getClass()) ? "" : CpuAlgorithms.REFERENCE);
    }

    static final String NOT_IMPLEMENTED = "not implemented yet";

    /** Thrown when a layer cannot be measured with an algorithm; the message says why. */
    public static final class NotRunnable extends RuntimeException {
        NotRunnable(String why, Throwable cause) { super(why, cause); }

        /** The reason without the layer and algorithm in front. */
        public String reason() {
            String m = getMessage();
            int i = m.indexOf(": ");
            return i < 0 ? m : m.substring(i + 2);
        }
    }

    /**
     * A cpu session running {@code layer} with {@code algorithm} forced, or {@link NotRunnable} saying why not: the
     * algorithm does not apply, or the cpu backend has no kernel for it yet (it would run something else: the plan
     * says {@code algorithm}, the session reports what it runs).
     */
    public static Session open(Layer l, int batch, String algorithm, int threads) {
        String why = inapplicable(l, algorithm);
        if (why != null) throw new NotRunnable(l.key() + " with " + algorithm + ": does not apply: " + why, null);
        Plan plan = plan(l, batch, algorithm);
        Session s;
        try {
            s = Plans.open(plan, CpuBackend.NAME, threads);
        } catch (UnsupportedOperationException e) {
            throw new NotRunnable(l.key() + " with " + algorithm + ": " + NOT_IMPLEMENTED + ": " + e.getMessage(), e);
        }
        int conv = plan.graph().value(CONV).producer();
        String used = s.algorithm(conv);
        if (!used.equals(algorithm)) {
            s.close();
            throw new NotRunnable(l.key() + " with " + algorithm + ": " + NOT_IMPLEMENTED + ": the cpu backend has no such "
                    + "Conv2d kernel and would run '" + used + "'", null);
        }
        return s;
    }

    /** Prints the distinct layers at {@code args[0]} (default 224) and the list for ConvLayerBenchmark's @Param. */
    public static void main(String[] args) {
        int size = args.length > 0 ? Integer.parseInt(args[0]) : 224;
        List<Layer> all = all(size);
        System.out.printf("%-32s %-36s %5s %12s%n", "layer", "shape", "count", "MFLOP (N=1)");
        for (Layer l : all)
            System.out.printf(Locale.ROOT, "%-32s %-36s %5d %12.1f%n", l.key(), l.describe(), l.occurrences(), l.flops(1) / 1e6);
        System.out.println();
        System.out.println(all.stream().map(l -> "\"" + l.key() + "\"").collect(Collectors.joining(", ")));
    }
}
