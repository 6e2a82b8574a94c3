package dev.stride.engine.cpu;

import dev.stride.graph.ConvSpec;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Init;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Conv2dBackwardData;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * A quick timing loop (not a test, not JMH): 3x3 stride-1 pad-1 convolutions (by default ResNet-18's: 64 channels
 * 56x56, 128 28x28, 256 14x14, 512 7x7) through the Winograd kernels bound directly, and an im2col baseline
 * written here: the matrix built by row copies, then the packed-filter SGEMM (what an im2col kernel does at
 * least; {@code -DgemmOnly=true} leaves the matrix out, a bound for any im2col). Prints effective GFLOP/s, the
 * direct convolution's FLOPs 2*N*O*Ho*Wo*C*9 over the time.
 *
 * <p>The machine this was written on is shared, so the candidates of one layer run interleaved, round after round
 * (each sees the same load), and both the median and the best round are printed; the best is the least disturbed.
 *
 * <pre>
 * ./mvnw -q -o test-compile -pl graph,engine -am
 * java --add-modules jdk.incubator.vector -cp graph/target/classes:engine/target/classes:engine/target/test-classes \
 *     [-Dlayers="64x56;128x28x256"] [-Dseconds=4] [-DblockBytes=...] [-Dsweep=bytes,bytes,...] \
 *     dev.stride.engine.cpu.WinogradTiming [threads=1] [batches=1,8] [forward|backward|depthwise]
 * </pre>
 * A layer is CxHW or CxHWxO. With one thread the time is the thread's CPU time, else wall time. {@code sweep}
 * times the Winograd kernels at each of these block budgets instead (bytes of scratch per worker).
 */
public final class WinogradTiming {
    private WinogradTiming() {}

    static final boolean GEMM_ONLY = Boolean.getBoolean("gemmOnly");
    private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        int[] batches = args.length > 1 ? Arrays.stream(args[1].split(",")).mapToInt(Integer::parseInt).toArray()
                : new int[] {1, 8};
        boolean backward = args.length > 2 && args[2].equals("backward");
        if (args.length > 2 && args[2].equals("depthwise")) {
            depthwise(threads, batches, Double.parseDouble(System.getProperty("seconds", "3")));
            return;
        }
        long bytes = Long.getLong("blockBytes", WinogradKernels.BLOCK_BYTES);
        double seconds = Double.parseDouble(System.getProperty("seconds", "4"));
        long[] sweep = System.getProperty("sweep") == null ? null
                : Arrays.stream(System.getProperty("sweep").split(",")).mapToLong(Long::parseLong).toArray();
        String spec = System.getProperty("layers", "64x56;128x28;256x14;512x7");
        int[][] layers = Arrays.stream(spec.split(";"))
                .map(s -> Arrays.stream(s.split("x")).mapToInt(Integer::parseInt).toArray()).toArray(int[][]::new);
        System.out.printf("threads %d, %s, %s, block bytes %d, %s time; effective GFLOP/s median / best%n", threads,
                VectorConfig.describe(), backward ? "backward-data" : "forward", bytes, threads == 1 ? "thread CPU" : "wall");
        for (int n : batches) {
            for (int[] l : layers) {
                int c = l[0], hw = l[1], o = l.length > 2 ? l[2] : c;
                double flop = 2.0 * n * o * hw * hw * c * 9;
                List<String> names = new ArrayList<>();
                List<Bench> benches = new ArrayList<>();
                for (int m : new int[] {2, 4}) {
                    for (long bb : sweep == null ? new long[] {bytes} : sweep) {
                        names.add("F" + m + (sweep == null ? "" : "@" + bb / 1024 + "K"));
                        benches.add(winograd(n, c, o, hw, m, threads, bb, backward));
                    }
                }
                if (!backward && sweep == null) {
                    names.add(GEMM_ONLY ? "gemm-only" : "im2col");
                    benches.add(im2col(n, c, o, hw, threads));
                }
                double[][] t = rounds(benches, seconds, threads == 1);
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "N=%d C=%d O=%d %dx%d (%.2f GFLOP):",
                        n, c, o, hw, hw, flop / 1e9));
                for (int i = 0; i < benches.size(); i++) {
                    double med = t[i][t[i].length / 2], best = t[i][0];
                    line.append(String.format(Locale.ROOT, "  %s %.2f ms %.0f/%.0f", names.get(i), med * 1e3,
                            flop / med / 1e9, flop / best / 1e9));
                    benches.get(i).close().run();
                }
                System.out.println(line);
            }
        }
    }

    /**
     * MobileNet-v1's depthwise 3x3 layers (channels x input size x stride; {@code -Dlayers} to choose), forward,
     * data and filter gradients, in GFLOP/s of the direct computation (2 * outputs * 9).
     */
    static void depthwise(int threads, int[] batches, double seconds) {
        String spec = System.getProperty("layers", "32x112x1;64x112x2;128x56x1;128x56x2;256x28x1;512x14x1;1024x7x1");
        int[][] layers = Arrays.stream(spec.split(";"))
                .map(s -> Arrays.stream(s.split("x")).mapToInt(Integer::parseInt).toArray()).toArray(int[][]::new);
        System.out.printf("depthwise 3x3 pad 1, threads %d, %s; GFLOP/s median / best%n", threads, VectorConfig.describe());
        for (int n : batches) {
            for (int[] l : layers) {
                int c = l[0], hw = l[1], st = l[2], ho = (hw - 1) / st + 1;
                double flop = 2.0 * n * c * ho * ho * 9;
                List<Bench> benches = new ArrayList<>();
                for (DepthwiseConvTest.Pass pass : DepthwiseConvTest.Pass.values()) {
                    GraphBuilder b = new GraphBuilder(DType.F32, false);
                    Conv2d op = new Conv2d(st, st, 1, 1, 1, 1, 1, 1, c);
                    Value x = b.input("x", n, c, hw, hw), w = b.input("w", c, 1, 3, 3), dy = b.input("dy", n, c, ho, ho);
                    Value out = switch (pass) {
                        case FORWARD -> b.apply("y", op, x, w);
                        case DATA -> b.apply("dx", op.backwardData(hw, hw), dy, w);
                        case FILTER -> b.apply("dw", op.backwardFilter(3, 3), x, dy);
                    };
                    b.output("out", out);
                    Graph g = b.build();
                    var buf = ConvTesting.buffers(g, new Random(1));
                    CpuRuntime rt = new CpuRuntime(threads, g.values().size());
                    CpuNode node = ConvTesting.bind(g.nodes().getFirst(), List.of(), buf, rt, ConvChooser.DEPTHWISE);
                    CpuKernel k = switch (pass) {
                        case FORWARD -> DepthwiseConv.forward(op, node);
                        case DATA -> DepthwiseConv.backwardData((Conv2dBackwardData) g.nodes().getFirst().op(), node);
                        case FILTER -> DepthwiseConv.backwardFilter(
                                (dev.stride.graph.op.Conv2dBackwardFilter) g.nodes().getFirst().op(), node);
                    };
                    benches.add(new Bench(() -> k.run(null), rt::close));
                }
                double[][] t = rounds(benches, seconds, threads == 1);
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "N=%d C=%d %dx%d stride %d:", n, c, hw,
                        hw, st));
                for (int i = 0; i < benches.size(); i++) {
                    double med = t[i][t[i].length / 2];
                    line.append(String.format(Locale.ROOT, "  %s %.3f ms %.1f/%.1f", DepthwiseConvTest.Pass.values()[i],
                            med * 1e3, flop / med / 1e9, flop / t[i][0] / 1e9));
                    benches.get(i).close().run();
                }
                System.out.println(line);
            }
        }
    }

    /** A bound kernel and what releases it. */
    record Bench(Runnable run, Runnable close) {}

    /** Warm-up (two seconds), then rounds running each bench once, for about {@code seconds}; sorted times per bench. */
    static double[][] rounds(List<Bench> benches, double seconds, boolean cpuTime) {
        long warm = System.nanoTime() + 2_000_000_000L;   // the JIT on a loaded 2-core machine needs it
        while (System.nanoTime() < warm) for (Bench b : benches) b.run().run();
        List<double[]> rows = new ArrayList<>();
        long end = System.nanoTime() + (long) (seconds * 1e9);
        while (rows.size() < 5 || System.nanoTime() < end && rows.size() < 400) {
            double[] r = new double[benches.size()];
            for (int i = 0; i < r.length; i++) {
                long s = cpuTime ? MX.getCurrentThreadCpuTime() : System.nanoTime();
                benches.get(i).run().run();
                r[i] = ((cpuTime ? MX.getCurrentThreadCpuTime() : System.nanoTime()) - s) / 1e9;
            }
            rows.add(r);
        }
        double[][] t = new double[benches.size()][rows.size()];
        for (int k = 0; k < rows.size(); k++) for (int i = 0; i < t.length; i++) t[i][k] = rows.get(k)[i];
        for (double[] x : t) Arrays.sort(x);
        return t;
    }

    /** F(m) on an n x c x hw x hw input, pad 1, o output channels; persistent weights (transformed once). */
    static Bench winograd(int n, int c, int o, int hw, int m, int threads, long bytes, boolean backward) {
        GraphBuilder b = new GraphBuilder(DType.F32, false);
        Conv2d op = new Conv2d(1, 1, 1, 1, 1, 1, 1, 1, 1);
        Value w = b.param("w", Shape.of(o, c, 3, 3), Init.zeros()), out;
        if (!backward) out = b.conv2d(b.input("x", n, c, hw, hw), w, null, ConvSpec.defaults().pad(1));
        else out = b.apply("dx", op.backwardData(hw, hw), b.input("dy", n, o, hw, hw), w);
        b.output("y", out);
        Graph g = b.build();
        var buf = ConvTesting.buffers(g, new Random(1));
        CpuRuntime rt = new CpuRuntime(threads, g.values().size());
        CpuNode node = ConvTesting.bind(g.nodes().getFirst(), List.of(), buf, rt, "winograd");
        CpuKernel k = backward
                ? WinogradKernels.backwardData((Conv2dBackwardData) g.nodes().getFirst().op(), node, m, VectorConfig.SIMD, bytes)
                : WinogradKernels.forward(op, node, m, VectorConfig.SIMD, bytes);
        return new Bench(() -> k.run(null), rt::close);
    }

    /** im2col per image into a [C*9][Ho*Wo] matrix (row copies), then the filter-packed GEMM. */
    static Bench im2col(int n, int c, int o, int hw, int threads) {
        Random r = new Random(1);
        MemorySegment x = ConvTesting.random((long) n * c * hw * hw, r), w = ConvTesting.random((long) o * c * 9, r);
        MemorySegment y = ConvTesting.zeros((long) n * o * hw * hw), col = ConvTesting.zeros((long) c * 9 * hw * hw);
        CpuRuntime rt = new CpuRuntime(threads, 1);
        Sgemm.PackedA a = rt.gemmGeometry().packA(Sgemm.Matrix.of(w, 0, c * 9), o, c * 9);
        Sgemm.Matrix bm = Sgemm.Matrix.of(col, 0, hw * hw);
        return new Bench(() -> {
            for (int img = 0; img < n; img++) {
                if (!GEMM_ONLY) {
                    // col[(ch, ky, kx)][oy][ox] = x[ch][oy - 1 + ky][ox - 1 + kx], zero outside
                    for (int ch = 0; ch < c; ch++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                long row = ((ch * 3L + ky) * 3 + kx) * hw * hw;
                                int lo = Math.max(0, 1 - kx), hiX = Math.min(hw, hw + 1 - kx);
                                for (int oy = 0; oy < hw; oy++) {
                                    int iy = oy - 1 + ky;
                                    long at = row + (long) oy * hw;
                                    if (iy < 0 || iy >= hw) {
                                        col.asSlice(at * 4, hw * 4L).fill((byte) 0);
                                        continue;
                                    }
                                    col.setAtIndex(ValueLayout.JAVA_FLOAT, at, 0f);
                                    col.setAtIndex(ValueLayout.JAVA_FLOAT, at + hw - 1, 0f);
                                    MemorySegment.copy(x, ((((long) img * c + ch) * hw + iy) * hw + lo - 1 + kx) * 4,
                                            col, (at + lo) * 4, (hiX - lo) * 4L);
                                }
                            }
                }
                rt.gemm(o, hw * hw, c * 9, 1f, a, bm, 0f, y, (long) img * o * hw * hw, hw * hw);
            }
        }, rt::close);
    }
}
