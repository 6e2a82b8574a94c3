package dev.stride.engine.cpu;

import dev.stride.engine.RunContext;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.engine.reference.ReferenceBackend;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Init;
import dev.stride.graph.Node;
import dev.stride.graph.Plan;
import dev.stride.graph.Value;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The measured algorithm choice of the cpu target ({@link CpuBackend#autotuned()}): for every convolution node
 * with more than one algorithm (Conv2d, Conv2dBackwardData, Conv2dBackwardFilter; the candidates are
 * {@link ConvChooser#candidates}), each candidate is timed on a one-node graph with the same op and shapes on
 * random data, and the fastest goes into the plan. Everything else (other ops, fusion) is decided as by the
 * heuristic target. The plan records the winners, so a saved plan is never measured again: loading it only reads
 * the algorithm entries.
 *
 * <p>A measurement compiles the one-node graph with the candidate forced, binds it as a program on {@link
 * Options#threads()} threads, runs it until {@link Options#warmup()} has passed (at least twice: the JIT, the
 * first weight transform), then takes the median of {@link Options#runs()} timed runs of the kernel alone. An
 * input that is a parameter or state of the real graph is one in the small graph too (a kernel caches what it
 * derives from it); if the real graph also updates it every run (training), it is rewritten before every timed
 * run, so that re-packing or re-transforming the weights is part of the time. Nodes with the same op, shapes and
 * kinds of inputs are measured once. The whole compilation measures for at most {@link Options#budget()}; past it
 * the remaining nodes get the heuristic choice. A candidate that has no cpu kernel (it would run on the reference
 * fallback) or fails is left out. Each measured node is reported in one line to {@link Options#log()}.
 */
public final class Autotuner implements Compiler.AlgorithmChooser {
    /**
     * @param threads worker threads the plan will run with (the timing depends on it)
     * @param budget  total measuring time of one compilation; nodes past it get the heuristic choice
     * @param warmup  untimed runs of each candidate for at least this long (and at least two)
     * @param runs    timed runs per candidate; the median counts
     * @param log     one line per measured node
     */
    public record Options(int threads, Duration budget, Duration warmup, int runs, Consumer<String> log) {
        public Options {
            if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
            if (runs < 1) throw new IllegalArgumentException("runs must be >= 1, got " + runs);
            if (budget.isNegative() || warmup.isNegative())
                throw new IllegalArgumentException("budget and warm-up must be >= 0, got " + budget + ", " + warmup);
        }

        /** The session default's threads, 60 s in all, 100 ms warm-up, 5 runs, logged at INFO. */
        public static Options defaults() {
            System.Logger logger = System.getLogger(Autotuner.class.getName());
            return new Options(SessionOptions.defaults().threads(), Duration.ofSeconds(60), Duration.ofMillis(100), 5,
                    line -> logger.log(System.Logger.Level.INFO, line));
        }

        public Options withThreads(int t) { return new Options(t, budget, warmup, runs, log); }

        public Options withBudget(Duration d) { return new Options(threads, d, warmup, runs, log); }

        public Options withWarmup(Duration d) { return new Options(threads, budget, d, runs, log); }

        public Options withRuns(int r) { return new Options(threads, budget, warmup, r, log); }

        public Options withLog(Consumer<String> l) { return new Options(threads, budget, warmup, runs, l); }

        /** What the plan's target facts record: "measured, 2 threads". */
        String describe() { return "measured, " + threads + (threads == 1 ? " thread" : " threads"); }
    }

    private final CpuKernelRegistry registry;
    private final Options options;
    private final boolean fuse;

    public Autotuner(CpuKernelRegistry registry, boolean fuse, Options options) {
        this.registry = registry;
        this.fuse = fuse;
        this.options = options;
    }

    @Override public List<String> choose(Graph g, int[] schedule) {
        Map<Integer, String> chosen = new HashMap<>();
        if (g.dtype() == DType.F32) {
            Set<Integer> updated = new HashSet<>();
            for (Graph.Update u : g.updates()) updated.add(u.target().id());
            Map<String, String> measured = new HashMap<>();
            Map<String, String> firstNode = new HashMap<>();
            long deadline = System.nanoTime() + options.budget().toNanos();
            for (int id : schedule) {
                Node n = g.nodes().get(id);
                if (!registry.supports(n.op().getClass()) || ConvChooser.candidates(n).size() < 2) continue;
                String key = key(n, updated);
                String winner = measured.get(key);
                if (winner != null) {
                    options.log().accept("autotune '" + n.name() + "': as '" + firstNode.get(key) + "' -> " + winner);
                } else {
                    winner = measure(n, updated, deadline);
                    measured.put(key, winner);
                    firstNode.put(key, n.name());
                }
                chosen.put(id, winner);
            }
        }
        return new CpuAlgorithms(registry, fuse, n -> chosen.getOrDefault(n.id(), ConvChooser.choose(n)))
                .choose(g, schedule);
    }

    /** Nodes with equal keys compute the same thing at the same cost. */
    private static String key(Node n, Set<Integer> updated) {
        StringBuilder k = new StringBuilder(n.op().toString());
        for (Value v : n.inputs())
            k.append(' ').append(v.shape()).append(v.persistent() ? updated.contains(v.id()) ? "u" : "p" : "i");
        return k.toString();
    }

    /** Times every candidate of {@code n}; returns the fastest, or the heuristic choice when none could be timed. */
    private String measure(Node n, Set<Integer> updated, long deadline) {
        String heuristic = ConvChooser.choose(n);
        List<String> candidates = new ArrayList<>(ConvChooser.candidates(n));
        candidates.remove(heuristic);
        candidates.addFirst(heuristic);               // timed first: the fallback if the budget runs out
        Map<String, String> report = new LinkedHashMap<>();
        String best = null;
        double bestTime = Double.POSITIVE_INFINITY;
        for (String candidate : candidates) {
            if (System.nanoTime() > deadline) {
                report.put(candidate, "not timed (budget spent)");
                continue;
            }
            try {
                double t = time(n, candidate, updated, deadline);
                if (Double.isNaN(t)) {
                    report.put(candidate, "no cpu kernel");
                    continue;
                }
                report.put(candidate, String.format(Locale.ROOT, "%.3f ms", t * 1e3));
                if (t < bestTime) {
                    bestTime = t;
                    best = candidate;
                }
            } catch (RuntimeException e) {
                report.put(candidate, "failed: " + e.getMessage());
            }
        }
        String winner = best != null ? best : heuristic;
        StringBuilder line = new StringBuilder("autotune '").append(n.name()).append("' ").append(n.op().kind());
        for (Value v : n.inputs()) line.append(' ').append(v.shape());
        line.append(", ").append(options.threads()).append(options.threads() == 1 ? " thread:" : " threads:");
        report.forEach((c, r) -> line.append(' ').append(c).append(' ').append(r).append(','));
        line.setLength(line.length() - 1);
        line.append(" -> ").append(winner).append(best == null ? " (heuristic: nothing timed)" : "");
        options.log().accept(line.toString());
        return winner;
    }

    /**
     * Median seconds of one run of {@code n}'s op with {@code algorithm} forced, on a graph of that node alone; NaN
     * when the algorithm has no cpu kernel here.
     */
    private double time(Node n, String algorithm, Set<Integer> updated, long deadline) {
        GraphBuilder b = new GraphBuilder(DType.F32, false);
        List<Value> ins = new ArrayList<>();
        List<Value> rewritten = new ArrayList<>();
        for (int i = 0; i < n.inputs().size(); i++) {
            Value v = n.inputs().get(i);
            Value local = v.persistent() ? b.param("p" + i, v.shape(), Init.zeros()) : b.input("x" + i, v.shape());
            ins.add(local);
            if (v.persistent() && updated.contains(v.id())) rewritten.add(local);
        }
        b.output("y", b.apply("node", n.op(), ins.toArray(Value[]::new)));
        Graph one = b.build();
        Plan plan = Compiler.compile(one, new Compiler.Target(CpuBackend.NAME, CpuBackend.info(),
                new CpuAlgorithms(registry, false, x -> algorithm)));
        Random r = new Random(42);
        Map<Value, Tensor> data = new HashMap<>();
        for (Value v : ins) data.put(v, random(v, r));
        try (CpuProgram p = new CpuProgram(plan, registry, ReferenceBackend.kernels(), options.threads())) {
            int node = one.nodes().getFirst().id();
            for (Value v : ins) p.write(v, data.get(v));
            long step = 0;
            p.run(new RunContext(step++));
            if (!p.algorithm(node).equals(algorithm)) return Double.NaN;   // ran on the reference fallback
            long warm = System.nanoTime() + options.warmup().toNanos();
            for (int k = 1; k < 2 || System.nanoTime() < warm && System.nanoTime() < deadline; k++)
                p.run(new RunContext(step++));
            double[] t = new double[options.runs()];
            int done = 0;
            while (done < t.length && (done == 0 || System.nanoTime() < deadline)) {
                for (Value v : rewritten) p.write(v, data.get(v));
                long s = System.nanoTime();
                p.run(new RunContext(step++));
                t[done++] = (System.nanoTime() - s) / 1e9;
            }
            double[] timed = Arrays.copyOf(t, done);
            Arrays.sort(timed);
            return timed[done / 2];
        }
    }

    /** Uniform in [-1, 1): magnitudes as in a network; the kernels' speed does not depend on the values. */
    private static Tensor random(Value v, Random r) {
        Tensor t = Tensor.zeros(DType.F32, v.shape());
        for (long i = 0; i < t.size(); i++) t.set(i, r.nextDouble() * 2 - 1);
        return t;
    }
}
