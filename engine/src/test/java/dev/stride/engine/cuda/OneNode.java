package dev.stride.engine.cuda;

import dev.stride.engine.Backend;
import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Op;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * One op on the cuda backend against the reference backend: a graph of that node alone (every operand a graph
 * input), float32 on the cuda backend and float64 on the reference, the same float32-rounded inputs uniform in
 * [-1, 1), every output element within a {@link CudaTolerances} entry. The gradient ops are ops of their own, so each
 * pass of a convolution is checked directly, without the other op families a gradient graph would need.
 */
final class OneNode {
    private OneNode() {}

    static Graph graph(DType dtype, Op op, List<Shape> inputs) {
        GraphBuilder b = new GraphBuilder(dtype, false);
        Value[] in = new Value[inputs.size()];
        for (int i = 0; i < in.length; i++) in[i] = b.input("x" + i, inputs.get(i));
        b.output("y", b.apply("node", op, in));
        return b.build();
    }

    /** The cuda backend's target (emulated or GPU) with every node's algorithm entry {@code entry}. */
    static Compiler.Target forcing(Backend cuda, String entry) {
        Compiler.Target t = cuda.target();
        return new Compiler.Target(t.name(), t.info(), n -> entry);
    }

    /** Runs and compares; returns the worst |got - want| / (atol + rtol |want|). */
    static double check(Backend cuda, Compiler.Target target, Op op, List<Shape> inputs, long seed, String tolerance) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        for (int i = 0; i < inputs.size(); i++) {
            Tensor t = Tensor.zeros(DType.F64, inputs.get(i));
            for (long k = 0; k < t.size(); k++) t.set(k, (float) (r.nextDouble() * 2 - 1));
            feeds.put("x" + i, t);
        }
        Plan gpuPlan = Compiler.compile(graph(DType.F32, op, inputs), target);
        Plan refPlan = Compiler.compile(graph(DType.F64, op, inputs));
        Map<String, Tensor> f32 = new LinkedHashMap<>();
        feeds.forEach((k, v) -> f32.put(k, v.as(DType.F32)));
        Tensor got, want;
        try (Session s = Session.open(gpuPlan, cuda, SessionOptions.defaults())) {
            got = s.run(f32).get("y");
        }
        try (Session s = Session.open(refPlan, "reference", SessionOptions.defaults())) {
            want = s.run(feeds).get("y");
        }
        CudaTolerances.Tol tol = CudaTolerances.of(tolerance);
        double worst = 0;
        for (long i = 0; i < want.size(); i++) {
            double err = Math.abs(got.get(i) - want.get(i)), allowed = tol.atol() + tol.rtol() * Math.abs(want.get(i));
            if (!(err <= allowed))
                fail(op + " on " + inputs + ": output " + want.shape() + " at flat index " + i + ": cuda " + got.get(i)
                        + ", reference " + want.get(i) + ", |err| " + err + " > " + allowed + " (tolerance '" + tolerance
                        + "': " + tol.why() + ")");
            worst = Math.max(worst, err / allowed);
        }
        return worst;
    }
}
