package dev.stride.engine.cuda;

import dev.stride.engine.Backend;
import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import net.jqwik.api.lifecycle.LifecycleContext;
import net.jqwik.api.lifecycle.SkipExecutionHook;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * A minimal forward-only comparison of the emulated cuda backend with the reference backend, used until the shared
 * helper (CudaCrossBackend, branch cudacore) lands: the same function built float32 for both (or float64 for the
 * reference), the same float32-rounded inputs, step 3, every output within |cuda - ref| <= atol + rtol |ref|.
 */
final class LocalCudaCheck {
    private LocalCudaCheck() {}

    static final class SkipUnlessUsable implements SkipExecutionHook {
        @Override public SkipResult shouldBeSkipped(LifecycleContext context) {
            String why = CudaBackend.emulated().unavailableReason();
            return why == null ? SkipResult.doNotSkip() : SkipResult.skip("emulated cuda device unavailable: " + why);
        }
    }

    record Options(double rtol, double atol, DType oracle, Map<String, Tensor> fixedInputs) {
        /** Against the float32 reference. */
        static Options within(double rtol, double atol) { return new Options(rtol, atol, DType.F32, Map.of()); }

        Options withInput(int i, Tensor t) {
            Map<String, Tensor> m = new LinkedHashMap<>(fixedInputs);
            m.put("x" + i, t);
            return new Options(rtol, atol, oracle, m);
        }
    }

    static void check(List<Shape> shapes, BiFunction<GraphBuilder, List<Value>, List<Value>> f, long seed, Options o) {
        Backend cudaBackend = CudaBackend.emulated();
        Random r = new Random(seed);
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        for (int i = 0; i < shapes.size(); i++) {
            Tensor t = o.fixedInputs().get("x" + i);
            if (t == null) {
                t = Tensor.zeros(DType.F64, shapes.get(i));
                for (long k = 0; k < t.size(); k++) t.set(k, (float) (r.nextDouble() * 2 - 1));
            }
            feeds.put("x" + i, t.as(DType.F32));
        }
        Plan cudaPlan = Compiler.compile(build(DType.F32, shapes, f, seed), cudaBackend.target());
        Plan refPlan = Compiler.compile(build(o.oracle(), shapes, f, seed));
        String missing = CudaBackend.kernels().missing(cudaPlan);
        if (missing != null) fail("no cuda kernel for " + missing);
        try (Session cuda = Session.open(cudaPlan, cudaBackend, SessionOptions.defaults().withSeed(seed));
             Session ref = Session.open(refPlan, "reference", SessionOptions.defaults().withSeed(seed).withThreads(1))) {
            cuda.setStep(3);
            ref.setStep(3);
            Map<String, Tensor> refFeeds = new LinkedHashMap<>();
            for (var e : feeds.entrySet()) refFeeds.put(e.getKey(), e.getValue().as(o.oracle()));
            Map<String, Tensor> got = cuda.run(feeds), want = ref.run(refFeeds);
            for (String name : want.keySet()) {
                Tensor g = got.get(name), w = want.get(name);
                for (long i = 0; i < w.size(); i++) {
                    if (Double.isNaN(w.get(i)) && Double.isNaN(g.get(i))) continue;
                    if (Double.isInfinite(w.get(i)) && g.get(i) == w.get(i)) continue;
                    double err = Math.abs(g.get(i) - w.get(i)), allowed = o.atol() + o.rtol() * Math.abs(w.get(i));
                    if (!(err <= allowed))
                        fail("output '" + name + "' " + w.shape() + " at flat index " + i + ": cuda " + g.get(i)
                                + ", reference " + w.get(i) + " (" + o.oracle() + "), |err| " + err + " > " + allowed);
                }
            }
        }
    }

    private static Graph build(DType dtype, List<Shape> shapes, BiFunction<GraphBuilder, List<Value>, List<Value>> f,
                               long seed) {
        GraphBuilder b = new GraphBuilder(dtype, false, seed);
        List<Value> xs = new ArrayList<>();
        for (int i = 0; i < shapes.size(); i++) xs.add(b.input("x" + i, shapes.get(i)));
        List<Value> outs = f.apply(b, xs);
        for (int k = 0; k < outs.size(); k++) b.output("out" + k, outs.get(k));
        return b.build();
    }
}
