package dev.stride.engine;

import dev.stride.graph.Autodiff;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.SumTo;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Finite-difference gradient check in double on the reference backend. The function under test receives one
 * graph input per shape (named x0, x1, ...) and returns its outputs; the check forms the scalar
 * L = sum_k sum(out_k * R_k) with fixed random R_k, differentiates it with {@link Autodiff}, and compares every
 * gradient element (or a random sample of {@code maxPerInput}) with the central difference
 * (L(x+h) - L(x-h)) / 2h. Random ops see the same step on every evaluation.
 */
public final class GradCheck {
    private GradCheck() {}

    public record Result(int checked, double maxAbsError, double maxRelError) {}

    /** Inputs drawn from U(-1, 1) with the given seed. */
    public static Map<String, Tensor> randomInputs(List<Shape> shapes, long seed) {
        Random r = new Random(seed);
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (int i = 0; i < shapes.size(); i++) {
            Tensor t = Tensor.zeros(DType.F64, shapes.get(i));
            for (long k = 0; k < t.size(); k++) t.set(k, r.nextDouble() * 2 - 1);
            m.put("x" + i, t);
        }
        return m;
    }

    public static Result check(List<Shape> shapes, BiFunction<GraphBuilder, List<Value>, List<Value>> f, long seed) {
        return check(shapes, randomInputs(shapes, seed), f, seed, 1e-6, 1e-5, 60);
    }

    /**
     * @param differentiable which inputs to check; pass {@code inputs} keys (others, such as labels, are held fixed)
     */
    public static Result check(List<Shape> shapes, Map<String, Tensor> inputs,
                               BiFunction<GraphBuilder, List<Value>, List<Value>> f, long seed,
                               double h, double tol, int maxPerInput) {
        return check(shapes, inputs, f, seed, h, tol, maxPerInput, null);
    }

    public static Result check(List<Shape> shapes, Map<String, Tensor> inputs,
                               BiFunction<GraphBuilder, List<Value>, List<Value>> f, long seed,
                               double h, double tol, int maxPerInput, java.util.Set<Integer> onlyInputs) {
        GraphBuilder b = new GraphBuilder(DType.F64, true, seed);
        List<Value> xs = new ArrayList<>();
        for (int i = 0; i < shapes.size(); i++) xs.add(b.input("x" + i, shapes.get(i)));
        List<Value> outs = f.apply(b, xs);
        Random r = new Random(seed ^ 0xABCDEF);
        Map<String, Tensor> feeds = new LinkedHashMap<>(inputs);
        Value loss = null;
        for (int k = 0; k < outs.size(); k++) {
            Value o = outs.get(k);
            Value rk = b.input("r" + k, o.shape());
            Tensor rt = Tensor.zeros(DType.F64, o.shape());
            for (long i = 0; i < rt.size(); i++) rt.set(i, r.nextDouble() * 2 - 1);
            feeds.put("r" + k, rt);
            Value term = b.apply("weighted", new SumTo(new int[0]), b.apply("mul", new Binary(Binary.Kind.MUL), o, rk));
            loss = loss == null ? term : b.apply("add", new Binary(Binary.Kind.ADD), loss, term);
        }
        List<Value> wrt = new ArrayList<>();
        for (int i = 0; i < xs.size(); i++) if (onlyInputs == null || onlyInputs.contains(i)) wrt.add(xs.get(i));
        Map<Value, Value> grads = Autodiff.gradients(b, loss, wrt);
        b.output("loss", loss);
        for (var e : grads.entrySet()) b.output("grad_" + e.getKey().name(), e.getValue());
        Graph g = b.build();

        double maxAbs = 0, maxRel = 0;
        int checked = 0;
        try (Session s = Session.open(Compiler.compile(g), "reference", SessionOptions.defaults().withThreads(1))) {
            s.setStep(7);
            Map<String, Tensor> base = s.run(feeds);
            for (Value x : wrt) {
                Tensor analytic = base.get("grad_" + x.name());
                Tensor xt = feeds.get(x.name());
                if (analytic == null) {
                    // The loss does not depend on x: every numerical derivative must vanish.
                    analytic = Tensor.zeros(DType.F64, x.shape());
                }
                List<Long> idx = new ArrayList<>();
                for (long i = 0; i < xt.size(); i++) idx.add(i);
                java.util.Collections.shuffle(idx, r);
                for (long i : idx.subList(0, (int) Math.min(maxPerInput, idx.size()))) {
                    double orig = xt.get(i);
                    xt.set(i, orig + h);
                    s.setStep(7);
                    double lp = s.run(feeds).get("loss").item();
                    xt.set(i, orig - h);
                    s.setStep(7);
                    double lm = s.run(feeds).get("loss").item();
                    xt.set(i, orig);
                    double numeric = (lp - lm) / (2 * h);
                    double a = analytic.get(i);
                    double err = Math.abs(numeric - a);
                    double rel = err / Math.max(1, Math.max(Math.abs(numeric), Math.abs(a)));
                    maxAbs = Math.max(maxAbs, err);
                    maxRel = Math.max(maxRel, rel);
                    checked++;
                    if (rel > tol)
                        fail("gradient of " + x.name() + x.shape() + " at flat index " + i + ": autodiff " + a
                                + ", central difference " + numeric + " (|err| " + err + ", tol " + tol + ")");
                }
            }
        }
        return new Result(checked, maxAbs, maxRel);
    }
}
