package dev.stride.bench;

import dev.stride.engine.cpu.Sgemm;
import dev.stride.engine.cpu.VectorConfig;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * {@link Sgemm} throughput: square problems, and the im2col GEMMs of ResNet-18's convolutions at batch 1
 * (M = output channels, N = output height x width, K = input channels x kernel height x width), whose filters are
 * packed once ({@link Sgemm.PackedA}) as a compiled plan would. Square problems pack both operands in every call,
 * as a plain BLAS call does. C is written with beta = 0; all operands live off-heap, as the engine's buffers do.
 *
 * <p>Read the {@code flop} counter: ops/ns of floating-point operations (2MNK per call), which is GFLOP/s.
 * {@link #main} runs this together with {@link FmaPeakBenchmark} and prints each result as a fraction of the
 * peak measured in the same run.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
@Fork(value = 1, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector", "-Xmx2g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class SgemmBenchmark {
    /** The problems: M, N, K, and whether A is a filter packed ahead of time. */
    public enum Shape {
        SQUARE_256(256, 256, 256, false),
        SQUARE_512(512, 512, 512, false),
        SQUARE_1024(1024, 1024, 1024, false),
        SQUARE_2048(2048, 2048, 2048, false),
        /** conv1: 7x7 stride 2, 3 -> 64 channels, 224 -> 112. */
        RESNET18_CONV1(64, 12544, 147, true),
        /** layer1: 3x3, 64 -> 64, 56x56. */
        RESNET18_LAYER1(64, 3136, 576, true),
        /** layer2's first conv: 3x3 stride 2, 64 -> 128, 56 -> 28. */
        RESNET18_LAYER2_STRIDE2(128, 784, 576, true),
        /** layer2's 1x1 stride-2 downsample, 64 -> 128. */
        RESNET18_LAYER2_DOWNSAMPLE(128, 784, 64, true),
        /** layer2: 3x3, 128 -> 128, 28x28. */
        RESNET18_LAYER2(128, 784, 1152, true),
        /** layer3: 3x3, 256 -> 256, 14x14. */
        RESNET18_LAYER3(256, 196, 2304, true),
        /** layer4: 3x3, 512 -> 512, 7x7. */
        RESNET18_LAYER4(512, 49, 4608, true);

        final int m, n, k;
        final boolean packedFilter;

        Shape(int m, int n, int k, boolean packedFilter) {
            this.m = m; this.n = n; this.k = k; this.packedFilter = packedFilter;
        }

        long flop() { return 2L * m * n * k; }
    }

    @Param
    public Shape shape;

    @Param({"1", "2"})
    public int threads;

    /** Floating-point operations done, which JMH divides by the measured time. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Flop {
        public long flop;

        @Setup(Level.Iteration)
        public void reset() { flop = 0; }
    }

    private Arena arena;
    private ExecutorService pool;
    private Sgemm gemm;
    private Sgemm.OperandA a;
    private Sgemm.OperandB b;
    private MemorySegment c;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        gemm = Sgemm.create();
        pool = threads > 1 ? Executors.newFixedThreadPool(threads - 1) : null;
        Random rnd = new Random(42);
        var am = Sgemm.Matrix.of(random(arena, (long) shape.m * shape.k, rnd), 0, shape.k);
        a = shape.packedFilter ? gemm.packA(am, shape.m, shape.k) : am;
        b = Sgemm.Matrix.of(random(arena, (long) shape.k * shape.n, rnd), 0, shape.n);
        c = arena.allocate((long) shape.m * shape.n * Float.BYTES, 64);
        System.out.println("# " + gemm.describe() + "; " + VectorConfig.describe());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (pool != null) pool.shutdownNow();
        arena.close();
    }

    @Benchmark
    public void gemm(Flop counter) {
        gemm.multiply(shape.m, shape.n, shape.k, 1f, a, b, 0f, c, 0, shape.n, pool, threads);
        counter.flop += shape.flop();
    }

    private static MemorySegment random(Arena arena, long floats, Random rnd) {
        MemorySegment s = arena.allocate(floats * Float.BYTES, 64);
        for (long i = 0; i < floats; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, rnd.nextFloat() * 2 - 1);
        return s;
    }

    /**
     * Runs {@link FmaPeakBenchmark} and this benchmark in one go, then prints GFLOP/s and the fraction of the peak
     * of as many cores as the GEMM used. Takes JMH's command-line options (e.g. {@code -wi 3 -i 5 -f 1 -p
     * shape=SQUARE_1024}); benchmark name patterns among them are ignored. Beside JMH's mean it prints the median
     * and the best of the measured iterations: on a shared machine a neighbour's burst drags the mean down, and
     * the median says what a quiet iteration gets.
     */
    public static void main(String[] args) throws RunnerException, CommandLineOptionException {
        var cli = new CommandLineOptions(args);
        var options = new OptionsBuilder().parent(cli)
                .include(FmaPeakBenchmark.class.getName() + "\\.")
                .include(SgemmBenchmark.class.getName() + "\\.")
                .build();
        double[] peak = new double[3]; // median GFLOP/s by thread count
        List<String> rows = new ArrayList<>();
        List<double[]> stats = new ArrayList<>();
        for (RunResult r : new Runner(options).run()) {
            String name = r.getParams().getBenchmark();
            double[] st = flop(r); // mean, median, best
            if (name.endsWith("oneThread")) peak[1] = st[1];
            else if (name.endsWith("twoThreads")) peak[2] = st[1];
            else {
                rows.add(r.getParams().getParam("shape") + " " + r.getParams().getParam("threads"));
                stats.add(st);
            }
        }
        System.out.printf("%nFMA peak (median): %.1f GFLOP/s on 1 thread, %.1f on 2%n", peak[1], peak[2]);
        System.out.printf("%-28s %7s %8s %8s %8s %12s%n", "shape", "threads", "mean", "median", "best",
                "median/peak");
        for (int i = 0; i < rows.size(); i++) {
            String[] row = rows.get(i).split(" ");
            int t = Integer.parseInt(row[1]);
            double[] st = stats.get(i);
            double p = t < peak.length ? peak[t] : 0;
            System.out.printf("%-28s %7d %8.1f %8.1f %8.1f %11.1f%%%n", row[0], t, st[0], st[1], st[2],
                    p > 0 ? 100 * st[1] / p : Double.NaN);
        }
    }

    /** Mean, median and best over the measured iterations of the {@code flop} counter, in GFLOP/s. */
    private static double[] flop(RunResult r) {
        Result<?> mean = r.getSecondaryResults().get("flop");
        List<Double> it = new ArrayList<>();
        for (BenchmarkResult b : r.getBenchmarkResults())
            for (IterationResult i : b.getIterationResults()) {
                Result<?> f = i.getSecondaryResults().get("flop");
                if (f != null) it.add(f.getScore());
            }
        if (mean == null || it.isEmpty()) return new double[] {Double.NaN, Double.NaN, Double.NaN};
        it.sort(null);
        int n = it.size();
        double median = n % 2 == 1 ? it.get(n / 2) : (it.get(n / 2 - 1) + it.get(n / 2)) / 2;
        return new double[] {mean.getScore(), median, it.get(n - 1)};
    }
}
