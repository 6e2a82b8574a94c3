package dev.stride.engine.cpu;

import dev.stride.engine.Backend;
import dev.stride.engine.Program;
import dev.stride.engine.RunContext;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Plan;
import dev.stride.graph.PoolSpec;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.BatchNorm2dTrain;

import java.util.Arrays;
import java.util.Random;
import java.util.function.BiFunction;

/**
 * A quick timing loop (not a JMH benchmark, not a test): one float32 node timed on the cpu backend and on the
 * reference backend, the program's run loop only (inputs written once). Prints the median and best of the timed
 * runs; on a machine shared with other work, the best is the figure closest to the uncontended time. Run from the worktree root after {@code ./mvnw -o test-compile -pl graph,engine -am}:
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *   -cp graph/target/classes:engine/target/classes:engine/target/test-classes:native-bindings/target/classes \
 *   dev.stride.engine.cpu.StreamingKernelTiming [threads]
 * </pre>
 */
public final class StreamingKernelTiming {
    private StreamingKernelTiming() {}

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        System.out.println("vector: " + VectorConfig.describe() + ", cpu threads " + threads);
        time("MaxPool2d 3x3 s2 p1 on [8,64,112,112]", Shape.of(8, 64, 112, 112),
                (b, x) -> b.maxPool2d(x, PoolSpec.of(3).stride(2).pad(1)), threads, 100, 10);
        time("BatchNorm2dTrain on [8,64,56,56]", Shape.of(8, 64, 56, 56), (b, x) -> {
            Value g = b.param("g", Shape.of(64), dev.stride.graph.Init.constant(1));
            Value be = b.param("b", Shape.of(64), dev.stride.graph.Init.constant(0));
            return b.applyAll("bn", new BatchNorm2dTrain(1e-5), x, g, be).getFirst();
        }, threads, 100, 10);
        if (args.length > 1) {
            // Thread-split calibration: the same kernels on sizes around the split threshold, 1 and 2 threads.
            for (int hw : new int[] {16, 24, 32, 48, 64}) {
                Shape s = Shape.of(1, 32, hw, hw);
                timeCpu("MaxPool2d 3x3 s2 p1 " + s, s, (b, x) -> b.maxPool2d(x, PoolSpec.of(3).stride(2).pad(1)), 200);
                timeCpu("BatchNorm2dTrain " + s, s, (b, x) -> {
                    Value g = b.param("g", Shape.of(32), dev.stride.graph.Init.constant(1));
                    Value be = b.param("b", Shape.of(32), dev.stride.graph.Init.constant(0));
                    return b.applyAll("bn", new BatchNorm2dTrain(1e-5), x, g, be).getFirst();
                }, 200);
            }
        }
    }

    private static void timeCpu(String what, Shape shape, BiFunction<GraphBuilder, Value, Value> f, int runs) {
        double one = median(run("cpu", shape, f, 1, runs, 20));
        double two = median(run("cpu", shape, f, 2, runs, 20));
        System.out.printf("%-44s 1 thread %8.1f us, 2 threads %8.1f us%n", what, one * 1e3, two * 1e3);
    }

    private static void time(String what, Shape shape, BiFunction<GraphBuilder, Value, Value> f, int threads,
                             int runs, int refRuns) {
        double[] cpu = run("cpu", shape, f, threads, runs, 20);
        double[] ref = run("reference", shape, f, 1, refRuns, 10);   // its loops need C2 as well
        System.out.printf("%-40s cpu median %8.2f ms (best %8.2f), reference median %8.2f ms (best %8.2f): %.1fx%n",
                what, median(cpu), cpu[0], median(ref), ref[0], median(ref) / median(cpu));
    }

    /** Sorted run times in ms. */
    private static double[] run(String backend, Shape shape, BiFunction<GraphBuilder, Value, Value> f, int threads,
                                int runs, int warmup) {
        GraphBuilder b = new GraphBuilder(DType.F32, false);
        Value x = b.input("x", shape);
        b.output("y", f.apply(b, x));
        Graph g = b.build();
        Plan plan = backend.equals("cpu") ? Compiler.compile(g, new CpuBackend().target()) : Compiler.compile(g);
        try (Program p = Backend.named(backend).load(plan, SessionOptions.defaults().withThreads(threads))) {
            Tensor t = Tensor.zeros(DType.F32, shape);
            Random r = new Random(1);
            for (long i = 0; i < t.size(); i++) t.set(i, r.nextFloat() * 2 - 1);
            p.write(x, t);
            for (Value v : plan.graph().persistent()) {
                Tensor c = Tensor.zeros(DType.F32, v.shape());
                for (long i = 0; i < c.size(); i++) c.set(i, 1);
                p.write(v, c);
            }
            for (int i = 0; i < warmup; i++) p.run(new RunContext(i));
            double[] ms = new double[runs];
            for (int i = 0; i < runs; i++) {
                long t0 = System.nanoTime();
                p.run(new RunContext(i));
                ms[i] = (System.nanoTime() - t0) / 1e6;
            }
            Arrays.sort(ms);
            return ms;
        }
    }

    private static double median(double[] sorted) { return sorted[sorted.length / 2]; }
}
