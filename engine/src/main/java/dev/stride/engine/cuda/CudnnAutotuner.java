package dev.stride.engine.cuda;

import dev.stride.cuda.CudaLibraries;
import dev.stride.cuda.CudaStatus;
import dev.stride.cuda.cudart.Cudart;
import dev.stride.cuda.cudnn.Cudnn;
import dev.stride.graph.Compiler;
import dev.stride.graph.Graph;
import dev.stride.graph.Node;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Conv2dBackwardData;
import dev.stride.graph.op.Conv2dBackwardFilter;
import dev.stride.graph.op.ConvTranspose2d;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

import static dev.stride.engine.cuda.CudaCalls.cuda;

/**
 * The measured choice of cuDNN engines for a cuda plan ({@link #target()}): for every convolution node, every engine
 * configuration cuDNN's heuristics return (modes A and fallback; for a forward convolution with a bias, also those
 * of the graph that adds the bias), that {@link CudnnEngines.Policy} accepts and that builds an execution plan, is
 * timed on the GPU on buffers of the node's shapes, and the fastest goes into the plan as its
 * {@link ConvAlgorithm} entry ({@code cudnn:engine=...;knobs=...;for=<GPU>,cudnn <version>}). A session loading the
 * plan on the same GPU and cuDNN builds exactly that configuration and measures nothing; on another, it prints a
 * notice and lets the heuristics choose.
 *
 * <p>A measurement: {@link Options#warmup()} untimed executions, then {@link Options#runs()} executions each timed
 * with CUDA events on the stream, the median counts. Nodes with the same {@link ConvProblem} are measured once.
 * Measuring stops at {@link Options#budget()}; later nodes keep the heuristic choice. Without a usable GPU nothing is
 * measured: the plan gets the base target's entries, and the log says why.
 */
public final class CudnnAutotuner implements Compiler.AlgorithmChooser {
    /**
     * @param budget  total measuring time of one compilation
     * @param warmup  untimed executions per configuration
     * @param runs    timed executions per configuration (median)
     * @param log     one line per measured node
     */
    public record Options(Duration budget, int warmup, int runs, Consumer<String> log) {
        public Options {
            if (runs < 1 || warmup < 0) throw new IllegalArgumentException("runs >= 1 and warmup >= 0, got " + runs + ", " + warmup);
        }

        /** 120 s in all, 3 warm-up and 10 timed executions, logged to standard error. */
        public static Options defaults() {
            return new Options(Duration.ofSeconds(120), 3, 10, line -> System.err.println("stride cuda: " + line));
        }

        public Options withLog(Consumer<String> l) { return new Options(budget, warmup, runs, l); }

        public Options withBudget(Duration d) { return new Options(d, warmup, runs, log); }
    }

    private final Compiler.AlgorithmChooser base;
    private final Options options;

    public CudnnAutotuner(Compiler.AlgorithmChooser base, Options options) {
        this.base = base;
        this.options = options;
    }

    /** The cuda target of {@link CudaBackend#target()} with its convolutions' engines measured on this GPU. */
    public static Compiler.Target target() { return target(Options.defaults()); }

    public static Compiler.Target target(Options options) {
        Compiler.Target t = new CudaBackend().target();
        Map<String, String> info = new LinkedHashMap<>(t.info());
        info.put("tuning", "cuDNN engines measured (" + CudnnEngines.Policy.fromSystemProperties().describe() + ")");
        return new Compiler.Target(t.name(), info, new CudnnAutotuner(t.chooser(), options));
    }

    static boolean isConvolution(Node n) {
        return n.op() instanceof Conv2d || n.op() instanceof Conv2dBackwardData || n.op() instanceof ConvTranspose2d
                || n.op() instanceof Conv2dBackwardFilter;
    }

    @Override public List<String> choose(Graph g, int[] schedule) {
        List<String> a = new ArrayList<>(base.choose(g, schedule));
        CudaStatus s = CudaLibraries.system();
        if (!s.available()) {
            options.log().accept("autotune: nothing measured, no usable GPU: " + s.unavailableReason());
            return a;
        }
        long deadline = System.nanoTime() + options.budget().toNanos();
        Map<String, String> measured = new HashMap<>();
        try (CudaContext ctx = new CudaContext(0)) {
            String machine = CudaConvKernels.machine(ctx);
            CudnnEngines.Policy policy = CudnnEngines.Policy.fromSystemProperties();
            for (int id : schedule) {
                Node n = g.nodes().get(id);
                if (!isConvolution(n)) continue;
                ConvAlgorithm current = ConvAlgorithm.parse(a.get(id));
                if (current.kind() == ConvAlgorithm.Kind.DIRECT) continue;
                ConvProblem p = ConvProblem.of(n);
                ConvAlgorithm.Followers followers = ConvAlgorithm.followers(a.get(id));
                String key = p.key() + followers.suffix();
                String winner = measured.get(key);
                if (winner == null) {
                    if (System.nanoTime() > deadline) {
                        options.log().accept("autotune '" + n.name() + "': budget spent, heuristic choice at load");
                        continue;
                    }
                    winner = measure(ctx, n, p, followers, machine, policy, deadline);
                    measured.put(key, winner);
                }
                if (winner.isEmpty()) continue;
                String suffix = a.get(id).contains("+") ? a.get(id).substring(a.get(id).indexOf('+')) : "";
                a.set(id, winner + suffix);
            }
        }
        return a;
    }

    /** The pointwise nodes a forward convolution's cuDNN graph may hold after it. */
    private record Fusion(boolean bias, boolean relu) {
        String describe() { return bias && relu ? "bias+relu graph" : bias ? "bias graph" : relu ? "relu graph" : "graph"; }
    }

    /**
     * The entry of the fastest configuration of {@code p} (whose node computes {@code followers} too), or "" when
     * none could be timed. Graphs compared: the plain convolution, and for a forward pass those that also add the
     * bias and/or apply the ReLU (not with a batch norm between them, which the epilogue applies). A configuration
     * that leaves anything to the epilogue kernel is charged that pass, measured as a device-to-device copy of y
     * (the bytes it reads and writes).
     */
    private String measure(CudaContext ctx, Node n, ConvProblem p, ConvAlgorithm.Followers followers, String machine,
                           CudnnEngines.Policy policy, long deadline) {
        boolean relu = followers.relu() && !followers.bn();
        Map<String, String> report = new LinkedHashMap<>();
        String best = "";
        double bestMs = Double.POSITIVE_INFINITY;
        boolean forward = p.pass() == ConvProblem.Pass.FORWARD;
        List<Fusion> graphs = new ArrayList<>(List.of(new Fusion(false, false)));
        if (forward && p.bias()) graphs.add(new Fusion(true, false));
        if (forward && relu) graphs.add(new Fusion(p.bias(), true));
        try (Buffers buf = new Buffers(p)) {
            double epilogueMs = forward && (p.bias() || followers.any()) ? copyMs(ctx, buf) : 0;
            if (epilogueMs > 0) report.put("epilogue pass (a copy of y)", String.format(Locale.ROOT, "%.3f ms", epilogueMs));
            for (Fusion f : graphs) {
                boolean needsEpilogue = forward && (followers.bn() || p.bias() && !f.bias() || relu && !f.relu());
                CudnnConvGraph g;
                try {
                    g = CudnnConvGraph.build(p, f.bias(), f.relu(), 256, ctx.cudnnHandle);
                } catch (RuntimeException e) {
                    report.put(f.describe(), "refused: " + e.getMessage());
                    continue;
                }
                try (g) {
                    List<String> refused = new ArrayList<>();
                    List<CudnnEngines.Config> configs = new ArrayList<>();
                    for (int mode : new int[] {Cudnn.CUDNN_HEUR_MODE_A(), Cudnn.CUDNN_HEUR_MODE_FALLBACK()}) {
                        try {
                            for (CudnnEngines.Config c : CudnnEngines.heuristics(g, mode, policy, machine, refused)) {
                                if (configs.stream().anyMatch(d -> d.algorithm().equals(c.algorithm()))) c.descriptor().close();
                                else configs.add(c);
                            }
                        } catch (RuntimeException e) {
                            refused.add("heuristics mode " + mode + ": " + e.getMessage());
                        }
                    }
                    for (String r : refused) report.put(r, "left out");
                    for (CudnnEngines.Config c : configs) {
                        String entry = c.algorithm().on(machine).entry();
                        CudnnDescriptor cfg = c.descriptor();
                        try (cfg; CudnnDescriptor plan = CudnnEngines.plan(ctx.cudnnHandle, c)) {
                            if (System.nanoTime() > deadline) {
                                report.put(entry, "not timed (budget spent)");
                                continue;
                            }
                            double ms = time(ctx, plan, g, buf, CudnnEngines.workspace(plan));
                            report.put(entry, String.format(Locale.ROOT, "%.3f ms", ms)
                                    + (needsEpilogue ? " + epilogue" : ""));
                            if (needsEpilogue) ms += epilogueMs;
                            if (ms < bestMs) {
                                bestMs = ms;
                                best = entry;
                            }
                        } catch (RuntimeException e) {
                            report.put(entry, "failed: " + e.getMessage());
                        }
                    }
                }
            }
        }
        StringBuilder line = new StringBuilder("autotune '").append(n.name()).append("' ").append(p).append(':');
        report.forEach((k, v) -> line.append("\n  ").append(k).append(": ").append(v));
        line.append("\n  -> ").append(best.isEmpty() ? "nothing timed: heuristic choice at load" : best);
        options.log().accept(line.toString());
        return best;
    }

    /** Median milliseconds of one execution of {@code plan}. */
    private double time(CudaContext ctx, CudnnDescriptor plan, CudnnConvGraph g, Buffers buf, long workspace) {
        try (DeviceMemory ws = DeviceMemory.device(workspace); Arena a = Arena.ofConfined();
             CudnnDescriptor vp = CudnnDescriptor.create(Cudnn.CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR())) {
            long[] uids = g.uids();
            MemorySegment[] ptrs = new MemorySegment[uids.length];
            for (int i = 0; i < uids.length; i++) ptrs[i] = buf.of(uids[i]);
            vp.pointers(Cudnn.CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS(), Cudnn.CUDNN_TYPE_VOID_PTR(), ptrs)
                    .longs(Cudnn.CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS(), uids)
                    .pointers(Cudnn.CUDNN_ATTR_VARIANT_PACK_WORKSPACE(), Cudnn.CUDNN_TYPE_VOID_PTR(), ws.at(0))
                    .finish();
            return medianMs(ctx, () -> execute(ctx, plan, vp));
        }
    }

    /** Median milliseconds of a device-to-device copy of y: what the epilogue kernel's pass reads and writes. */
    private double copyMs(CudaContext ctx, Buffers buf) {
        long bytes = buf.y.bytes;
        try (DeviceMemory to = DeviceMemory.device(bytes)) {
            return medianMs(ctx, () -> cuda(Cudart.cudaMemcpyAsync(to.at(0), buf.y.at(0), bytes,
                    Cudart.cudaMemcpyDeviceToDevice(), ctx.stream), "cudaMemcpyAsync(device to device)"));
        }
    }

    /** {@link Options#warmup()} untimed runs of {@code work} on the stream, then the median of the timed ones. */
    private double medianMs(CudaContext ctx, Runnable work) {
        for (int i = 0; i < options.warmup(); i++) work.run();
        ctx.synchronize();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            cuda(Cudart.cudaEventCreate(out), "cudaEventCreate");
            MemorySegment start = out.get(ValueLayout.ADDRESS, 0);
            cuda(Cudart.cudaEventCreate(out), "cudaEventCreate");
            MemorySegment stop = out.get(ValueLayout.ADDRESS, 0);
            try {
                double[] ms = new double[options.runs()];
                MemorySegment elapsed = a.allocate(ValueLayout.JAVA_FLOAT);
                for (int i = 0; i < ms.length; i++) {
                    cuda(Cudart.cudaEventRecord(start, ctx.stream), "cudaEventRecord");
                    work.run();
                    cuda(Cudart.cudaEventRecord(stop, ctx.stream), "cudaEventRecord");
                    cuda(Cudart.cudaEventSynchronize(stop), "cudaEventSynchronize");
                    cuda(Cudart.cudaEventElapsedTime(elapsed, start, stop), "cudaEventElapsedTime");
                    ms[i] = elapsed.get(ValueLayout.JAVA_FLOAT, 0);
                }
                Arrays.sort(ms);
                return ms[ms.length / 2];
            } finally {
                Cudart.cudaEventDestroy(start);
                Cudart.cudaEventDestroy(stop);
            }
        }
    }

    private static void execute(CudaContext ctx, CudnnDescriptor plan, CudnnDescriptor vp) {
        CudnnDescriptor.check(Cudnn.cudnnBackendExecute(ctx.cudnnHandle, plan.handle, vp.handle), "cudnnBackendExecute");
    }

    /**
     * Device buffers of a problem's x, w, y and bias, filled with uniform random floats in [-1, 1): zeros can run
     * faster than real data (and hide nothing here, but would flatter an engine).
     */
    private static final class Buffers implements AutoCloseable {
        private final DeviceMemory x, w, y, bias;

        Buffers(ConvProblem p) {
            SplittableRandom random = new SplittableRandom(p.key().hashCode());
            x = random(4 * product(p.x()), random);
            w = random(4 * product(p.w()), random);
            y = random(4 * product(p.y()), random);
            bias = random(4 * product(p.biasDims()), random);
        }

        private static DeviceMemory random(long bytes, SplittableRandom random) {
            DeviceMemory m = DeviceMemory.device(bytes);
            try (Arena a = Arena.ofConfined()) {
                MemorySegment host = a.allocate(Math.max(bytes, 4), 4);
                for (long i = 0; i < bytes / 4; i++)
                    host.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) (2 * random.nextDouble() - 1));
                cuda(Cudart.cudaMemcpy(m.at(0), host, bytes, Cudart.cudaMemcpyHostToDevice()), "cudaMemcpy(host to device)");
            }
            return m;
        }

        private static long product(long[] dims) {
            long p = 1;
            for (long d : dims) p *= d;
            return p;
        }

        MemorySegment of(long uid) {
            if (uid == CudnnConvGraph.X) return x.at(0);
            if (uid == CudnnConvGraph.W) return w.at(0);
            if (uid == CudnnConvGraph.Y) return y.at(0);
            if (uid == CudnnConvGraph.BIAS) return bias.at(0);
            throw new IllegalArgumentException("no buffer for uid " + uid);
        }

        @Override public void close() {
            for (DeviceMemory m : new DeviceMemory[] {bias, y, w, x}) m.close();
        }
    }
}
