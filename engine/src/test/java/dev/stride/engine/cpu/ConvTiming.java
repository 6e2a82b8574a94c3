package dev.stride.engine.cpu;

import dev.stride.graph.ConvSpec;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Value;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Conv2dBackwardData;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * A quick timing loop (not a test, not JMH): ResNet-18's 3x3 stride-1 layers through the Winograd kernels bound
 * directly, against an im2col + packed-filter SGEMM baseline written here (what an im2col kernel does at least).
 * Prints effective GFLOP/s (direct convolution FLOPs, 2*N*O*Ho*Wo*C*9, over the median time).
 *
 * <pre>
 * ./mvnw -q -o test-compile -pl graph,engine -am
 * java --add-modules jdk.incubator.vector -cp graph/target/classes:engine/target/classes:engine/target/test-classes \
 *     dev.stride.engine.cpu.ConvTiming [threads=1] [batches=1,8] [backward]
 * </pre>
 */
public final class ConvTiming {
    private ConvTiming() {}

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        int[] batches = args.length > 1 ? Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray() : new int[] {1, 8};
        boolean backward = args.length > 2 && args[2].equals("backward");
        long bytes = Long.getLong("blockBytes", WinogradKernels.BLOCK_BYTES);
        int[][] layers = {{64, 56}, {128, 28}, {256, 14}, {512, 7}};
        if (System.getProperty("layers") != null)
            layers = Arrays.stream(System.getProperty("layers").split(";"))
                    .map(s -> Arrays.stream(s.split("x")).mapToInt(Integer::parseInt).toArray()).toArray(int[][]::new);
        System.out.printf("threads %d, %s, block bytes %d, %s, %s time%n", threads, VectorConfig.describe(), bytes,
                backward ? "backward-data" : "forward", CPU_TIME ? "thread CPU" : "wall");
        for (int n : batches) {
            for (int[] l : layers) {
                int c = l[0], hw = l[1], o = l.length > 2 ? l[2] : c;
                double flop = 2.0 * n * o * hw * hw * c * 9;
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "N=%d C=%d O=%d %dx%d (%.2f GFLOP):", n,
                        c, o, hw, hw, flop / 1e9));
                for (int m : new int[] {2, 4}) {
                    double t = winograd(n, c, o, hw, m, threads, bytes, backward);
                    line.append(String.format(Locale.ROOT, "  F%d %.2f ms %.1f GF/s", m, t * 1e3, flop / t / 1e9));
                }
                double t = im2col(n, c, o, hw, threads);
                line.append(String.format(Locale.ROOT, "  im2col %.2f ms %.1f GF/s", t * 1e3, flop / t / 1e9));
                System.out.println(line);
            }
        }
    }

    /** Median seconds per run of F(m) on an n x c x hw x hw input, pad 1, o output channels. */
    static double winograd(int n, int c, int o, int hw, int m, int threads, long bytes, boolean backward) {
        GraphBuilder b = new GraphBuilder(DType.F32, false);
        Conv2d op = new Conv2d(1, 1, 1, 1, 1, 1, 1, 1, 1);
        Value w = b.param("w", dev.stride.graph.Shape.of(o, c, 3, 3), dev.stride.graph.Init.zeros()), out; // persistent: transformed once
        if (!backward) out = b.conv2d(b.input("x", n, c, hw, hw), w, null, ConvSpec.defaults().pad(1));
        else out = b.apply("dx", op.backwardData(hw, hw), b.input("dy", n, o, hw, hw), w);
        b.output("y", out);
        Graph g = b.build();
        var buf = ConvTesting.buffers(g, new Random(1));
        try (CpuRuntime rt = new CpuRuntime(threads, g.values().size())) {
            CpuNode node = ConvTesting.bind(g.nodes().getFirst(), List.of(), buf, rt, "winograd");
            CpuKernel k = backward
                    ? WinogradKernels.backwardData((Conv2dBackwardData) g.nodes().getFirst().op(), node, m,
                    VectorConfig.SPECIES, VectorConfig.SIMD, bytes)
                    : WinogradKernels.forward(op, node, m, VectorConfig.SPECIES, VectorConfig.SIMD, bytes);
            return time(() -> k.run(null));
        }
    }

    /** Median seconds of im2col (per image, into a [C*9][Ho*Wo] matrix) then the filter-packed GEMM. */
    static double im2col(int n, int c, int o, int hw, int threads) {
        Random r = new Random(1);
        MemorySegment x = ConvTesting.random((long) n * c * hw * hw, r), w = ConvTesting.random((long) o * c * 9, r);
        MemorySegment y = ConvTesting.zeros((long) n * o * hw * hw);
        float[] col = new float[c * 9 * hw * hw];
        MemorySegment colSeg = MemorySegment.ofArray(col);
        try (CpuRuntime rt = new CpuRuntime(threads, 1)) {
            Sgemm.PackedA a = rt.gemmGeometry().packA(Sgemm.Matrix.of(w, 0, c * 9), o, c * 9);
            Sgemm.Matrix bm = Sgemm.Matrix.of(colSeg, 0, hw * hw);
            return time(() -> {
                for (int img = 0; img < n; img++) {
                    for (int ch = 0; ch < c; ch++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                int row = ((ch * 3 + ky) * 3 + kx) * hw * hw;
                                for (int oy = 0; oy < hw; oy++) {
                                    int iy = oy - 1 + ky;
                                    for (int ox = 0; ox < hw; ox++) {
                                        int ix = ox - 1 + kx;
                                        col[row + oy * hw + ox] = iy < 0 || iy >= hw || ix < 0 || ix >= hw ? 0f
                                                : x.getAtIndex(ValueLayout.JAVA_FLOAT, (((long) img * c + ch) * hw + iy) * hw + ix);
                                    }
                                }
                            }
                    rt.gemm(o, hw * hw, c * 9, 1f, a, bm, 0f, y, (long) img * o * hw * hw, hw * hw);
                }
            });
        }
    }

    /**
     * With {@code -Dcpu=true}, the calling thread's CPU time instead of wall time: on a loaded machine that is the
     * better estimate of a one-thread run (it still includes contention for caches and memory).
     */
    static final boolean CPU_TIME = Boolean.getBoolean("cpu");
    private static final java.lang.management.ThreadMXBean MX = java.lang.management.ManagementFactory.getThreadMXBean();

    static long now() { return CPU_TIME ? MX.getCurrentThreadCpuTime() : System.nanoTime(); }

    /** Warm-up for about a second, then the median of runs filling about two seconds (at least 5). */
    static double time(Runnable run) {
        long end = System.nanoTime() + 1_000_000_000L;
        int warm = 0;
        while (System.nanoTime() < end || warm < 3) { run.run(); warm++; }
        long t0 = now();
        run.run();
        double one = (now() - t0) / 1e9;
        int reps = (int) Math.max(5, Math.min(200, 2.0 / Math.max(one, 1e-6)));
        double[] t = new double[reps];
        for (int i = 0; i < reps; i++) {
            long s = now();
            run.run();
            t[i] = (now() - s) / 1e9;
        }
        Arrays.sort(t);
        return t[reps / 2];
    }
}
