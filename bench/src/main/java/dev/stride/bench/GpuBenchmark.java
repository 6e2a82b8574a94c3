package dev.stride.bench;

import dev.stride.cuda.CudaLibraries;
import dev.stride.cuda.CudaStatus;
import dev.stride.engine.Backend;
import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.engine.cuda.CudaBackend;
import dev.stride.engine.cuda.CudnnAutotuner;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Init;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.zoo.Classifier;
import dev.stride.zoo.ImageClassifier;
import dev.stride.zoo.Zoo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;
import java.util.function.LongSupplier;
import java.util.regex.Pattern;

/**
 * The GPU benchmarks of the cuda backend: ResNet-18 and ResNet-50 forward (inference plan) and training step, and
 * every distinct convolution layer of ResNet-50, measured exactly as {@code bench/python/torch_peer.py} measures
 * PyTorch on the same GPU, so that the two JSON files it writes sit side by side in {@link Report#gpu}.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp bench/target/benchmarks.jar \
 *     dev.stride.bench.GpuBenchmark [--out gpu-stride.json] [--batch 32] [--warmup 10] [--runs 30] [--size 224]
 *     [--tuned] [--only REGEX]
 * </pre>
 *
 * <p>Not JMH: one procedure shared with the Python peer. Per case: {@code --warmup} untimed calls, then
 * {@code --runs} calls each timed alone with the wall clock; a call ends with the stream drained (a cuda session's
 * run waits for its stream; the peer calls {@code torch.cuda.synchronize()}); the median and the 10th and 90th
 * percentiles are reported, and images/s = batch / median.
 * <ul>
 *   <li>{@code resnetNN.forward}, batch 1 and {@code --batch}: the inference plan (batch norm on running statistics);
 *       a call copies the images in and the logits out (the peer: a pinned host tensor to the GPU, the logits back,
 *       under {@code torch.no_grad()} in eval mode);
 *   <li>{@code resnetNN.train}, batch {@code --batch}: one SGD step (momentum 0.9, weight decay 1e-4) with softmax
 *       cross-entropy; a call copies images, labels and the learning rate in and the loss and logits out;
 *   <li>{@code resnet50:<layer>}, batch {@code --batch}: the convolution alone on device-resident data; Stride's time
 *       is the node's own (the session's per-node profile: the kernel, then the stream drained), the peer times
 *       {@code F.conv2d} with a synchronize.
 * </ul>
 * Plans are compiled for {@code new CudaBackend().target()} (cuDNN's heuristics choose the engines when the session
 * loads), or with {@code --tuned} for {@link CudnnAutotuner#target()} (the engines measured at compile time; the
 * peer's counterpart is {@code --cudnn-benchmark}). Float32 math and deterministic engines by default, as the peer
 * sets PyTorch ({@code -Dstride.cuda.tf32=true} / {@code --tf32} and {@code -Dstride.cuda.nondeterministic=true} /
 * {@code --nondeterministic} change both). A case the cuda backend cannot run (an op without a cuda kernel) is
 * recorded as skipped with the reason. Without a usable GPU nothing runs: the file records why, and the exit
 * status is 0 so that a check script goes on.
 */
public final class GpuBenchmark {
    private GpuBenchmark() {}

    record Settings(Path out, int batch, int warmup, int runs, int size, boolean tuned, Pattern only) {}

    /** One measured (or skipped) case, as written to the JSON file. */
    record Result(String name, Map<String, Object> spec, double[] ms, String skipped, Map<String, Object> extra) {}

    public static void main(String[] args) throws IOException {
        Settings s = parse(args);
        CudaStatus status = CudaLibraries.system();
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("runner", "stride");
        doc.put("settings", settings(s));
        List<Result> results = new ArrayList<>();
        if (!status.available()) {
            String why = status.unavailableReason();
            System.out.println("GpuBenchmark: no usable GPU, nothing measured: " + why);
            doc.put("device", null);
            doc.put("unavailable", why);
            write(s.out(), doc, results);
            return;
        }
        doc.put("device", status.devices().getFirst().name());
        doc.put("versions", Map.of("cuda", CudaStatus.cuda(status.versions().runtime()),
                "cudnn", CudaStatus.cudnn(status.versions().cudnn()), "cublas", String.valueOf(status.versions().cublas())));
        System.out.println("GpuBenchmark on " + doc.get("device") + ": warm-up " + s.warmup() + " calls, " + s.runs()
                + " timed calls per case, " + (s.tuned() ? "autotuned cuDNN engines" : "cuDNN heuristics"));
        Compiler.Target target = s.tuned() ? CudnnAutotuner.target() : new CudaBackend().target();
        for (String net : List.of("resnet18", "resnet50")) {
            for (int batch : s.batch() == 1 ? List.of(1) : List.of(1, s.batch()))
                run(s, results, net + ".forward", Map.of("model", net, "mode", "forward", "batch", batch, "size", s.size()),
                        () -> forward(net, batch, s, target));
            run(s, results, net + ".train", Map.of("model", net, "mode", "train", "batch", s.batch(), "size", s.size()),
                    () -> train(net, s.batch(), s, target));
        }
        for (ConvLayers.Layer l : ConvLayers.distinct("resnet50", s.size()))
            run(s, results, l.key(), convSpec(l, s.batch()), () -> conv(l, s.batch(), s, target));
        write(s.out(), doc, results);
        System.out.println("GpuBenchmark: wrote " + s.out());
    }

    /** A case to measure: opens its session and returns its per-call time source; throws when it cannot run. */
    @FunctionalInterface
    interface Case {
        Measured open();
    }

    /** Nanoseconds of one call (the timing source of a case) and what closes the case's sessions. */
    record Measured(LongSupplier call, AutoCloseable resources, Map<String, Object> extra) {}

    private static void run(Settings s, List<Result> results, String name, Map<String, Object> spec, Case c) {
        if (s.only() != null && !s.only().matcher(name).find()) return;
        Measured m;
        try {
            m = c.open();
        } catch (RuntimeException e) {
            String why = e.getMessage() == null ? e.toString() : e.getMessage();
            System.out.println("  " + name + ": skipped: " + why);
            results.add(new Result(name, spec, null, why, Map.of()));
            return;
        }
        try (AutoCloseable r = m.resources()) {
            for (int i = 0; i < s.warmup(); i++) m.call().getAsLong();
            double[] ms = new double[s.runs()];
            for (int i = 0; i < ms.length; i++) ms[i] = m.call().getAsLong() / 1e6;
            Result res = new Result(name, spec, ms, null, m.extra());
            results.add(res);
            int batch = ((Number) spec.get("batch")).intValue();
            double med = percentile(ms, 50);
            System.out.printf(Locale.ROOT, "  %-36s batch %3d: median %9.3f ms (p10 %.3f, p90 %.3f), %10.1f images/s%n",
                    name, batch, med, percentile(ms, 10), percentile(ms, 90), batch / (med / 1e3));
        } catch (Exception e) {
            String why = "failed while measuring: " + e;
            System.out.println("  " + name + ": " + why);
            results.add(new Result(name, spec, null, why, Map.of()));
        }
    }

    /** The backend measured: the GPU's; tests pass the emulated device's. */
    private static Backend backend = new CudaBackend();

    private static Session open(Plan plan) {
        String missing = CudaBackend.kernels().missing(plan);
        if (missing != null) throw new IllegalStateException("the cuda backend has no kernel for " + missing);
        return Session.open(plan, backend, SessionOptions.defaults().withSeed(42));
    }

    /** One conv layer's measurement on {@code b} (tests: the emulated device): the per-call node times, in ns. */
    static long[] measureConv(Backend b, ConvLayers.Layer l, int batch, int calls) throws Exception {
        Backend saved = backend;
        backend = b;
        try {
            Measured m = conv(l, batch, null, b.target());
            try (AutoCloseable r = m.resources()) {
                long[] t = new long[calls];
                for (int i = 0; i < calls; i++) t[i] = m.call().getAsLong();
                return t;
            }
        } finally {
            backend = saved;
        }
    }

    private static Measured forward(String net, int batch, Settings s, Compiler.Target target) {
        ImageClassifier model = Zoo.classifier(net);
        Plan plan = model.inferencePlan(batch, s.size(), target);
        Session session = open(plan);
        Map<String, Tensor> in = Map.of(Classifier.IMAGES, Plans.uniform(model.inputShape(batch, s.size()), -1, 1, 1));
        return new Measured(() -> {
            long t = System.nanoTime();
            session.run(in);
            return System.nanoTime() - t;
        }, session, Map.of("flop", plan.flops()));
    }

    private static Measured train(String net, int batch, Settings s, Compiler.Target target) {
        ImageClassifier model = Zoo.classifier(net);
        Plan plan = model.trainingPlan(batch, s.size(), target);
        Session session = open(plan);
        Map<String, Tensor> in = Map.of(Classifier.IMAGES, Plans.uniform(model.inputShape(batch, s.size()), -1, 1, 1),
                Classifier.LABELS, Plans.labels(batch, model.classes(), 2), Classifier.LR, Tensor.scalar(DType.F32, 0.01));
        return new Measured(() -> {
            long t = System.nanoTime();
            session.run(in);
            return System.nanoTime() - t;
        }, session, Map.of("flop", plan.flops()));
    }

    /**
     * The layer alone on device-resident data: x and the weights are persistent, y goes to a persistent sink by an
     * update (a device copy after the node), so a run copies nothing to or from the host; the node's own time is
     * read from the session's per-node profile.
     */
    static Plan convPlan(ConvLayers.Layer l, int batch, Compiler.Target target) {
        GraphBuilder b = new GraphBuilder(DType.F32, false);
        Value x = b.state("x", Shape.of(batch, l.channels(), l.height(), l.width()), Init.xavierUniform());
        Value w = b.param("conv/weight", l.weight(), Init.kaimingNormal());
        Value y = l.bias() ? b.apply("conv", l.op(), x, w, b.param("conv/bias", Shape.of(l.out()), Init.zeros()))
                : b.apply("conv", l.op(), x, w);
        b.update(b.state("sink", y.shape(), Init.zeros()), y);
        return Compiler.compile(b.build(), target);
    }

    private static Measured conv(ConvLayers.Layer l, int batch, Settings s, Compiler.Target target) {
        Plan plan = convPlan(l, batch, target);
        Session session = open(plan);
        int node = plan.graph().value("conv").producer();
        session.profile(true);
        Map<String, Tensor> none = Map.of();
        long[] before = {0};
        return new Measured(() -> {
            session.run(none);
            long total = session.nodeNanos()[node];
            long t = total - before[0];
            before[0] = total;
            return t;
        }, session, extra(plan, session.algorithm(node)));
    }

    /** The plan's FLOPs, and the algorithm the session reports for the conv node where it reports one. */
    private static Map<String, Object> extra(Plan plan, String algorithm) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("flop", plan.flops());
        if (!algorithm.isEmpty()) m.put("algorithm", algorithm);
        return m;
    }

    static Map<String, Object> convSpec(ConvLayers.Layer l, int batch) {
        var c = l.op();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("batch", batch);
        m.put("x", List.of(batch, l.channels(), l.height(), l.width()));
        m.put("w", Arrays.stream(l.weight().dims()).boxed().toList());
        m.put("stride", List.of(c.strideH(), c.strideW()));
        m.put("padding", List.of(c.padTop(), c.padLeft(), c.padBottom(), c.padRight()));
        m.put("dilation", List.of(c.dilationH(), c.dilationW()));
        m.put("groups", c.groups());
        m.put("bias", l.bias());
        m.put("shape", l.describe());
        return m;
    }

    // ---- arguments, statistics, JSON ----

    static Settings parse(String[] args) {
        Path out = Path.of("gpu-stride.json");
        int batch = 32, warmup = 10, runs = 30, size = 224;
        boolean tuned = false;
        Pattern only = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--out" -> out = Path.of(args[++i]);
                case "--batch" -> batch = Integer.parseInt(args[++i]);
                case "--warmup" -> warmup = Integer.parseInt(args[++i]);
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--size" -> size = Integer.parseInt(args[++i]);
                case "--tuned" -> tuned = true;
                case "--only" -> only = Pattern.compile(args[++i]);
                default -> throw new IllegalArgumentException("unknown option '" + a + "'; options: --out FILE --batch N"
                        + " --warmup N --runs N --size N --tuned --only REGEX");
            }
        }
        if (runs < 1 || warmup < 0 || batch < 1) throw new IllegalArgumentException("--runs >= 1, --warmup >= 0, --batch >= 1");
        return new Settings(out, batch, warmup, runs, size, tuned, only);
    }

    private static Map<String, Object> settings(Settings s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("warmup", s.warmup());
        m.put("runs", s.runs());
        m.put("batch", s.batch());
        m.put("size", s.size());
        m.put("engines", s.tuned() ? "autotuned" : "heuristics");
        m.put("tf32", Boolean.getBoolean("stride.cuda.tf32"));
        m.put("deterministic", !Boolean.getBoolean("stride.cuda.nondeterministic"));
        m.put("timing", "wall clock per call, stream drained at the end of each call; conv layers: the node's own time");
        return m;
    }

    /** The p-th percentile (0-100) by linear interpolation between closest ranks, as numpy's default. */
    static double percentile(double[] v, double p) {
        double[] s = v.clone();
        Arrays.sort(s);
        double rank = p / 100 * (s.length - 1);
        int lo = (int) Math.floor(rank), hi = (int) Math.ceil(rank);
        return s[lo] + (s[hi] - s[lo]) * (rank - lo);
    }

    static void write(Path out, Map<String, Object> doc, List<Result> results) throws IOException {
        List<Object> rs = new ArrayList<>();
        for (Result r : results) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("case", r.name());
            m.putAll(r.spec());
            if (r.skipped() != null) {
                m.put("skipped", r.skipped());
            } else {
                int batch = ((Number) r.spec().get("batch")).intValue();
                double med = percentile(r.ms(), 50);
                m.put("median_ms", med);
                m.put("p10_ms", percentile(r.ms(), 10));
                m.put("p90_ms", percentile(r.ms(), 90));
                m.put("images_per_s", batch / (med / 1e3));
                m.putAll(r.extra());
            }
            rs.add(m);
        }
        // One result per line, for a reader with a text editor.
        StringJoiner body = new StringJoiner(",\n  ", "[\n  ", "\n]");
        for (Object r : rs) body.add(json(r));
        String head = json(doc);
        String text = head.substring(0, head.length() - 1) + (doc.isEmpty() ? "" : ", ") + "\"results\": "
                + (rs.isEmpty() ? "[]" : body.toString()) + "}";
        if (out.getParent() != null) Files.createDirectories(out.getParent());
        Files.writeString(out, text + "\n");
    }

    static String json(Object o) {
        return switch (o) {
            case null -> "null";
            case String s -> quote(s);
            case Boolean b -> b.toString();
            case Double d -> d.isNaN() || d.isInfinite() ? "null" : String.format(Locale.ROOT, "%.6g", d);
            case Number n -> n.toString();
            case Map<?, ?> m -> {
                StringJoiner j = new StringJoiner(", ", "{", "}");
                m.forEach((k, v) -> j.add(quote(String.valueOf(k)) + ": " + json(v)));
                yield j.toString();
            }
            case List<?> l -> {
                StringJoiner j = new StringJoiner(", ", "[", "]");
                for (Object v : l) j.add(json(v));
                yield j.toString();
            }
            default -> quote(o.toString());
        };
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\t' -> b.append("\\t");
                case '\r' -> b.append("\\r");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }
}
