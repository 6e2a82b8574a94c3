package dev.stride.bench;

import dev.stride.engine.Session;
import dev.stride.engine.cpu.CpuBackend;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatFactory;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The benchmark suite in one command: {@link FmaPeakBenchmark} (the peak every result is read against),
 * {@link ConvLayerBenchmark} (every distinct conv layer, every applicable algorithm that the cpu backend
 * implements), {@link NetworkBenchmark} and {@link TrainingStepBenchmark}; all results go to one JSON file (JMH's
 * format, default {@code bench/results.json}, or {@code -rff FILE}), rewritten after each benchmark so that an
 * interrupted run keeps what it measured, and the {@link Report} table is printed at the end.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp bench/target/benchmarks.jar dev.stride.bench.Suite [--quick] [JMH options]
 * </pre>
 *
 * <p>Full: conv layers at batch 1 and 8; ResNet-18 forward at batch 1 and 8, VGG-16 and MobileNet v1 at batch 1;
 * LeNet-5 (cpu, and the reference backend on 1 thread), DCGAN 64x64 and the conv VAE training steps at batch 64;
 * everything on 1 and 2 threads, with the iterations of the benchmarks' annotations.
 * {@code --quick}: ResNet-18's conv layers at batch 1, ResNet-18 forward at batch 1, the LeNet-5 step, on 1 thread,
 * with 1 warm-up and 3 measured iterations of 1 s unless the command line says otherwise.
 *
 * <p>JMH options pass through ({@code -wi -i -w -r -f -jvmArgsAppend ...}). A {@code -p} of a selecting parameter
 * ({@code layer}, {@code net}, {@code model}) keeps only the listed values of the suite's; any other {@code -p}
 * ({@code batch}, {@code threads}, {@code size}, {@code algorithm}, {@code backend}) replaces the suite's values, e.g.
 * {@code --quick -p size=32 -p batch=2} for a smoke run in seconds. Benchmark name patterns are not taken.
 *
 * <p>A conv layer and algorithm that cannot run are listed with the reason before anything is measured: the
 * algorithm does not apply to the layer, or (checked by opening the layer's session here, which needs the Vector
 * API module in this JVM) the cpu backend does not implement it yet.
 */
public final class Suite {
    private Suite() {}

    /** JMH runs of one benchmark class with its parameters. */
    record Run(Class<?> benchmark, Map<String, List<String>> params) {}

    private static final Set<String> SELECTORS = Set.of("layer", "net", "model");

    public static void main(String[] args) throws RunnerException, CommandLineOptionException, IOException {
        boolean quick = false;
        List<String> jmhArgs = new ArrayList<>();
        for (String a : args) {
            if (a.equals("--quick")) quick = true;
            else jmhArgs.add(a);
        }
        CommandLineOptions cli = new CommandLineOptions(jmhArgs.toArray(String[]::new));
        if (!cli.getIncludes().isEmpty())
            throw new IllegalArgumentException("the suite runs a fixed set of benchmarks and takes no name pattern "
                    + cli.getIncludes() + "; narrow it with -p layer=..., -p net=..., -p model=...");
        Path out = Path.of(cli.getResult().orElse("bench/results.json"));

        Map<String, List<String>> skipped = new LinkedHashMap<>();
        List<Run> runs = runs(quick, cli, skipped);
        System.out.println("# suite" + (quick ? " (quick)" : "") + ": " + runs.size() + " JMH runs, results to " + out);
        printSkipped(skipped);

        List<RunResult> results = new ArrayList<>();
        Path tmp = Files.createTempFile("stride-suite", ".json");
        try {
            for (Run r : runs) {
                ChainedOptionsBuilder o = new OptionsBuilder().parent(cli)
                        .include("^" + r.benchmark().getName().replace(".", "\\.") + "\\.")
                        .resultFormat(ResultFormatType.JSON).result(tmp.toString());
                if (quick) quickIterations(o, cli);
                r.params().forEach((k, v) -> o.param(k, v.toArray(String[]::new)));
                Collection<RunResult> done = new Runner(o.build()).run();
                results.addAll(done);
                if (out.getParent() != null) Files.createDirectories(out.getParent());
                ResultFormatFactory.getInstance(ResultFormatType.JSON, out.toString()).writeOut(results);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        System.out.println();
        printSkipped(skipped);
        System.out.println();
        Report.print(out, System.out);
    }

    private static void printSkipped(Map<String, List<String>> skipped) {
        skipped.forEach((why, layers) -> System.out.println("# skipped " + layers.size() + " conv layer(s), " + why + ": "
                + String.join(", ", layers)));
    }

    private static void quickIterations(ChainedOptionsBuilder o, CommandLineOptions cli) {
        if (!cli.getWarmupIterations().hasValue()) o.warmupIterations(1);
        if (!cli.getMeasurementIterations().hasValue()) o.measurementIterations(3);
        if (!cli.getWarmupTime().hasValue()) o.warmupTime(TimeValue.seconds(1));
        if (!cli.getMeasurementTime().hasValue()) o.measurementTime(TimeValue.seconds(1));
        if (!cli.getForkCount().hasValue()) o.forks(1);
    }

    /**
     * The suite's runs, with the command line's -p applied; conv layers that cannot run with an algorithm go to
     * {@code skipped}, by algorithm and reason.
     */
    static List<Run> runs(boolean quick, CommandLineOptions cli, Map<String, List<String>> skipped) {
        List<String> threads = quick ? List.of("1") : List.of("1", "2");
        List<Run> runs = new ArrayList<>();
        runs.add(new Run(FmaPeakBenchmark.class, Map.of()));

        int size = Integer.parseInt(user(cli, "size", List.of("224")).getFirst());
        List<ConvLayers.Layer> layers = quick ? ConvLayers.distinct("resnet18", size) : ConvLayers.all(size);
        List<String> algorithms = user(cli, "algorithm", ConvLayers.ALGORITHMS);
        String noCpu = new CpuBackend().unavailableReason();
        if (noCpu != null) System.out.println("# not checking which conv algorithms the cpu backend implements: " + noCpu);
        for (String a : algorithms) {
            List<String> keys = new ArrayList<>();
            for (ConvLayers.Layer l : layers) {
                if (!selected(cli, "layer", l.key())) continue;
                String why = ConvLayers.applies(l, a) ? null : ConvLayers.requirement(a);
                if (why == null && noCpu == null) why = notImplemented(l, a);
                if (why == null) keys.add(l.key());
                else skipped.computeIfAbsent(a + " (" + why + ")", k -> new ArrayList<>()).add(l.key());
            }
            if (!keys.isEmpty())
                runs.add(run(cli, ConvLayerBenchmark.class, Map.of("layer", keys, "algorithm", List.of(a),
                        "batch", quick ? List.of("1") : List.of("1", "8"), "threads", threads)));
        }

        runs.add(run(cli, NetworkBenchmark.class, Map.of("net", List.of("resnet18"),
                "batch", quick ? List.of("1") : List.of("1", "8"), "threads", threads)));
        if (!quick)
            runs.add(run(cli, NetworkBenchmark.class, Map.of("net", List.of("vgg16", "mobilenet_v1"), "batch", List.of("1"),
                    "threads", threads)));

        runs.add(run(cli, TrainingStepBenchmark.class, Map.of("model", List.of("lenet5"), "threads", threads)));
        // The reference backend where it is cheap: LeNet-5, one thread (it does not use more).
        runs.add(run(cli, TrainingStepBenchmark.class, Map.of("model", List.of("lenet5"), "backend", List.of("reference"),
                "threads", List.of("1"))));
        if (!quick)
            runs.add(run(cli, TrainingStepBenchmark.class, Map.of("model", List.of("dcgan64", "convvae"), "threads", threads)));
        runs.removeIf(r -> r.params().values().stream().anyMatch(List::isEmpty));
        return runs;
    }

    /** Why the cpu backend cannot run {@code l} with {@code algorithm} at batch 1, or null when it can. */
    private static String notImplemented(ConvLayers.Layer l, String algorithm) {
        try (Session s = ConvLayers.open(l, 1, algorithm, 1)) {
            return null;
        } catch (ConvLayers.NotRunnable e) {
            return e.reason();
        }
    }

    /**
     * A run with the command line's -p applied: selectors narrow the suite's values, other parameters replace them,
     * except {@code algorithm}, one per conv run, already taken from the command line.
     */
    private static Run run(CommandLineOptions cli, Class<?> benchmark, Map<String, List<String>> suite) {
        Map<String, List<String>> params = new LinkedHashMap<>();
        suite.forEach((k, v) -> {
            if (SELECTORS.contains(k)) params.put(k, v.stream().filter(x -> selected(cli, k, x)).toList());
            else if (k.equals("algorithm")) params.put(k, v);
            else params.put(k, user(cli, k, v));
        });
        return new Run(benchmark, params);
    }

    private static boolean selected(CommandLineOptions cli, String param, String value) {
        var p = cli.getParameter(param);
        return !p.hasValue() || p.get().contains(value);
    }

    private static List<String> user(CommandLineOptions cli, String param, List<String> otherwise) {
        var p = cli.getParameter(param);
        return p.hasValue() ? List.copyOf(p.get()) : otherwise;
    }
}
