package dev.stride.engine.cuda;

import dev.stride.engine.Backend;
import dev.stride.engine.OutputComparison;
import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Autodiff;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.SumTo;
import net.jqwik.api.lifecycle.LifecycleContext;
import net.jqwik.api.lifecycle.SkipExecutionHook;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The comparison helper for the cuda backend, modelled on the cpu backend's CrossBackend: builds a function of graph
 * inputs twice, float32 compiled for the cuda target and float64 (or float32, for bit-exact checks) for the
 * reference oracle, runs both on the same float32-rounded inputs and parameters at the same step, and compares every
 * output and, when asked, the gradient of L = sum_k sum(out_k * R_k) with respect to chosen inputs, within a
 * {@link CudaTolerances} entry.
 *
 * <p>The cuda backend under test is {@link CudaBackend#emulated()} (the kernels compiled by g++, on the host) unless
 * the system property {@value #DEVICE_PROPERTY} is {@code gpu} (the -Pgpu profile sets it): then the real backend on
 * the GPU. {@link #check} skips (an assumption) with the reason when that backend is not usable here. A node whose op
 * has no cuda kernel fails the check: the cuda backend has no fallback, and the loss and autodiff ops of the gradient
 * graph need kernels too.
 */
public final class CudaCrossBackend {
    private CudaCrossBackend() {}

    /** "gpu" for the real device, anything else (default) for the emulated one. */
    public static final String DEVICE_PROPERTY = "stride.cuda.device";

    /** The cuda backend the tests run. */
    public static Backend backend() {
        return "gpu".equals(System.getProperty(DEVICE_PROPERTY)) ? new CudaBackend() : CudaBackend.emulated();
    }

    /** Skips the calling test, with the reason, when the backend under test cannot run here. */
    public static void assumeUsable() {
        Backend b = backend();
        String why = b.unavailableReason();
        assumeTrue(why == null, () -> "cuda backend (" + (b instanceof CudaBackend ? "GPU" : "emulated device")
                + ") not usable here: " + why);
    }

    /**
     * For jqwik containers: {@code @AddLifecycleHook(CudaCrossBackend.SkipUnlessUsable.class)} skips every property
     * of the class, with the reason, when the backend under test cannot run here (an assumption inside a property
     * would reject every try, which jqwik reports as a failure).
     */
    public static final class SkipUnlessUsable implements SkipExecutionHook {
        @Override public SkipResult shouldBeSkipped(LifecycleContext context) {
            Backend b = backend();
            String why = b.unavailableReason();
            return why == null ? SkipResult.doNotSkip() : SkipResult.skip("cuda backend ("
                    + (b instanceof CudaBackend ? "GPU" : "emulated device") + ") not usable here: " + why);
        }
    }

    /** Per output name, the worst |cuda - ref| / (atol + rtol |ref|) (<= 1 passes). */
    public record Result(Map<String, Double> worstRatio) {}

    /**
     * @param tolerance   a {@link CudaTolerances} key
     * @param gradInputs  inputs whose gradient is compared too
     * @param oracle      F64 (default) or F32 for a bit-exact comparison with the float32 reference
     * @param fixedInputs input {@code "x<i>"} fed this tensor instead of random values
     */
    public record Options(String tolerance, Set<Integer> gradInputs, DType oracle, Map<String, Tensor> fixedInputs) {
        public static Options forward(String tolerance) {
            return new Options(tolerance, Set.of(), DType.F64, Map.of());
        }

        public Options withGradients(Integer... inputs) {
            return new Options(tolerance, Set.of(inputs), oracle, fixedInputs);
        }

        /** Compares with the float32 reference instead of the float64 oracle (use with tolerance "exact"). */
        public Options againstFloat32() { return new Options(tolerance, gradInputs, DType.F32, fixedInputs); }

        public Options withTolerance(String key) { return new Options(key, gradInputs, oracle, fixedInputs); }

        public Options withInput(int i, Tensor t) {
            Map<String, Tensor> m = new LinkedHashMap<>(fixedInputs);
            m.put("x" + i, t);
            return new Options(tolerance, gradInputs, oracle, m);
        }
    }

    public static Result check(List<Shape> shapes, BiFunction<GraphBuilder, List<Value>, List<Value>> f, long seed,
                               Options o) {
        assumeUsable();
        Backend cudaBackend = backend();
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
        Graph cudaGraph = build(DType.F32, shapes, f, seed, o, feeds, new Random(seed ^ 0x5DEECE66DL));
        Graph refGraph = build(o.oracle(), shapes, f, seed, o, null, new Random(seed ^ 0x5DEECE66DL));
        Plan cudaPlan = Compiler.compile(cudaGraph, cudaBackend.target());
        Plan refPlan = Compiler.compile(refGraph);
        String missing = CudaBackend.kernels().missing(cudaPlan);
        if (missing != null) fail("no cuda kernel for " + missing);

        Map<String, Double> worst = new LinkedHashMap<>();
        CudaTolerances.Tol tol = CudaTolerances.of(o.tolerance());
        try (Session cuda = Session.open(cudaPlan, cudaBackend, SessionOptions.defaults().withSeed(seed));
             Session ref = Session.open(refPlan, "reference", SessionOptions.defaults().withSeed(seed).withThreads(1))) {
            ref.copyPersistentFrom(cuda);   // the oracle sees the float32 parameters the cuda backend sees
            cuda.setStep(3);
            ref.setStep(3);
            Map<String, Tensor> cudaFeeds = new LinkedHashMap<>(), refFeeds = new LinkedHashMap<>();
            for (var e : feeds.entrySet()) {
                cudaFeeds.put(e.getKey(), e.getValue().as(DType.F32));
                refFeeds.put(e.getKey(), e.getValue().as(DType.F32).as(o.oracle()));
            }
            Map<String, Tensor> got = cuda.run(cudaFeeds);
            Map<String, Tensor> want = ref.run(refFeeds);
            worst.putAll(OutputComparison.check("cuda", got, "reference (" + o.oracle() + ")", want,
                    new OutputComparison.Tolerance(o.tolerance(), tol.atol(), tol.rtol(), tol.why()), ""));
        }
        return new Result(worst);
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
