package dev.stride.engine.cpu;

import dev.stride.engine.OutputComparison;
import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Autodiff;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Node;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.SumTo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The one comparison helper for the cpu backend: builds a function of graph inputs twice, float32 compiled for the
 * cpu target and float64 for the reference oracle, runs both on the same float32-rounded inputs and parameters,
 * and compares every output (and, when asked, the gradient of L = sum_k sum(out_k * R_k) with respect to chosen
 * inputs) within a {@link Tolerances} entry. It also fails when a node whose op the test names ran on the
 * reference fallback instead of a cpu kernel, so a property cannot pass by testing the oracle against itself.
 */
public final class CrossBackend {
    private CrossBackend() {}

    /** What ran and how close it came: per output name, the worst |cpu - ref| / (atol + rtol |ref|) (<= 1 passes). */
    public record Result(Map<String, Double> worstRatio, Map<String, String> algorithms) {}

    /**
     * Options of one comparison. {@code target} compiles the cpu plan; null means the heuristic
     * {@code new CpuBackend().target()}.
     */
    public record Options(String tolerance, Set<Integer> gradInputs, int threads, Set<Class<?>> mustRunOnCpu,
                          Map<String, Tensor> fixedInputs, Compiler.Target target) {
        /** Forward only, one thread. */
        public static Options forward(String tolerance, Class<?>... mustRunOnCpu) {
            return new Options(tolerance, Set.of(), 1, Set.of(mustRunOnCpu), Map.of(), null);
        }

        /** Forward and the gradient with respect to {@code inputs}. */
        public Options withGradients(Integer... inputs) {
            return new Options(tolerance, Set.of(inputs), threads, mustRunOnCpu, fixedInputs, target);
        }

        public Options withThreads(int t) {
            return new Options(tolerance, gradInputs, t, mustRunOnCpu, fixedInputs, target);
        }

        /** Feeds input {@code "x<i>"} this tensor instead of random values (labels, indices). */
        public Options withInput(int i, Tensor t) {
            Map<String, Tensor> m = new LinkedHashMap<>(fixedInputs);
            m.put("x" + i, t);
            return new Options(tolerance, gradInputs, threads, mustRunOnCpu, m, target);
        }

        /** Compiles the cpu plan for this target (e.g. one that forces an algorithm) instead of the heuristic one. */
        public Options withTarget(Compiler.Target t) {
            return new Options(tolerance, gradInputs, threads, mustRunOnCpu, fixedInputs, t);
        }
    }

    public static Result check(List<Shape> shapes, BiFunction<GraphBuilder, List<Value>, List<Value>> f, long seed,
                               Options o) {
        return check(shapes, f, seed, o, new CpuBackend().target());
    }

    /**
     * As {@link #check(List, BiFunction, long, Options)}, the float32 graph compiled for {@code cpuTarget}: a cpu
     * target whose chooser forces an algorithm, so that a property reaches it whatever the heuristic would pick.
     */
    public static Result check(List<Shape> shapes, BiFunction<GraphBuilder, List<Value>, List<Value>> f, long seed,
                               Options o, Compiler.Target cpuTarget) {
        Random r = new Random(seed);
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        for (int i = 0; i < shapes.size(); i++) {
            Tensor t = o.fixedInputs().get("x" + i);
            if (t == null) {
                t = Tensor.zeros(DType.F64, shapes.get(i));
                for (long k = 0; k < t.size(); k++) t.set(k, (float) (r.nextDouble() * 2 - 1));
            }
            feeds.put("x" + i, t.as(DType.F64));
        }
        Graph cpuGraph = build(DType.F32, shapes, f, seed, o, feeds, new Random(seed ^ 0x5DEECE66DL));
        Graph refGraph = build(DType.F64, shapes, f, seed, o, null, new Random(seed ^ 0x5DEECE66DL));
        Plan cpuPlan = Compiler.compile(cpuGraph, o.target() != null ? o.target() : cpuTarget);
        Plan refPlan = Compiler.compile(refGraph);

        Map<String, String> algorithms = new LinkedHashMap<>();
        Map<String, Double> worst = new LinkedHashMap<>();
        Tolerances.Tol tol = Tolerances.of(o.tolerance());
        try (Session cpu = Session.open(cpuPlan, "cpu", SessionOptions.defaults().withSeed(seed).withThreads(o.threads()));
             Session ref = Session.open(refPlan, "reference", SessionOptions.defaults().withSeed(seed).withThreads(1))) {
            ref.copyPersistentFrom(cpu); // the oracle sees the float32 parameters the cpu sees
            for (Node n : cpuPlan.scheduledNodes()) {
                String a = cpu.algorithm(n.id());
                algorithms.put(n.name(), a);
                if (o.mustRunOnCpu().contains(n.op().getClass()) && a.equals(CpuAlgorithms.REFERENCE))
                    fail("node '" + n.name() + "' (" + n.op().kind() + ") ran on the reference fallback, not a cpu kernel");
            }
            cpu.setStep(3);
            ref.setStep(3);
            Map<String, Tensor> cpuFeeds = new LinkedHashMap<>();
            for (var e : feeds.entrySet()) cpuFeeds.put(e.getKey(), e.getValue().as(DType.F32));
            Map<String, Tensor> got = cpu.run(cpuFeeds);
            Map<String, Tensor> want = ref.run(feeds);
            worst.putAll(OutputComparison.check("cpu", got, "reference", want,
                    new OutputComparison.Tolerance(o.tolerance(), tol.atol(), tol.rtol(), tol.why()),
                    "; algorithms " + algorithms));
        }
        return new Result(worst, algorithms);
    }

    /** The graph of f, plus the weighted loss and the requested gradients; adds the R_k feeds when given a map. */
    private static Graph build(DType dtype, List<Shape> shapes, BiFunction<GraphBuilder, List<Value>, List<Value>> f,
                               long seed, Options o, Map<String, Tensor> feeds, Random r) {
        boolean grads = !o.gradInputs().isEmpty();
        GraphBuilder b = new GraphBuilder(dtype, grads, seed);
        List<Value> xs = new ArrayList<>();
        for (int i = 0; i < shapes.size(); i++) xs.add(b.input("x" + i, shapes.get(i)));
        List<Value> outs = f.apply(b, xs);
        for (int k = 0; k < outs.size(); k++) b.output("out" + k, outs.get(k));
        if (grads) {
            Value loss = null;
            for (int k = 0; k < outs.size(); k++) {
                Value out = outs.get(k);
                Value rk = b.input("r" + k, out.shape());
                if (feeds != null) {
                    Tensor rt = Tensor.zeros(DType.F64, out.shape());
                    for (long i = 0; i < rt.size(); i++) rt.set(i, (float) (r.nextDouble() * 2 - 1));
                    feeds.put("r" + k, rt);
                }
                Value term = b.apply("weighted", new SumTo(new int[0]), b.apply("mul", new Binary(Binary.Kind.MUL), out, rk));
                loss = loss == null ? term : b.apply("add", new Binary(Binary.Kind.ADD), loss, term);
            }
            List<Value> wrt = new ArrayList<>();
            for (int i : o.gradInputs()) wrt.add(xs.get(i));
            for (var e : Autodiff.gradients(b, loss, wrt).entrySet()) b.output("grad_" + e.getKey().name(), e.getValue());
        }
        return b.build();
    }
}
