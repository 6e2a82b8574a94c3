package dev.stride.engine.cuda;

import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Init;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.AdamUpdate;
import dev.stride.graph.op.GlobalNormScale;
import dev.stride.graph.op.RmsPropUpdate;
import dev.stride.graph.op.SgdUpdate;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Tag;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AddLifecycleHook;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The optimizer family's cuda kernels ({@link CudaCrossBackend#backend()}: the emulated device by default, the GPU
 * with -Pgpu) against the reference backend, both float32: training
 * graphs of one update op whose parameter and states are updated in place (the graph's updates), run for several
 * steps with a new gradient, a learning-rate schedule and (Adam) the step count fed at each, compared after every
 * step, outputs and stored state. SGD and RMSprop use only + - * / and sqrt, all correctly rounded in Java and C:
 * the reference's bits at every step. Adam's bias corrections call pow: within a float rounding step.
 */
@Tag("cuda-kernels")
@AddLifecycleHook(CudaCrossBackend.SkipUnlessUsable.class)
class CudaOptimizerKernelsTest {
    private static final int STEPS = 4;

    /** Float-rounded values uniform in [lo, hi]. */
    static Tensor values(Shape s, Random r, double lo, double hi) { return CudaLossKernelsTest.values(s, r, lo, hi); }

    /**
     * Builds the update graph twice (cuda, reference), sets the states to {@code init}, and runs {@link #STEPS}
     * steps feeding {@code feeds.apply(step)}; after each compares every output and every state within
     * |cuda - ref| <= rtol |ref|.
     */
    private static void steps(Function<GraphBuilder, Void> graph, Map<String, Tensor> init,
                              Function<Integer, Map<String, Tensor>> feeds, double rtol) {
        Plan[] plans = new Plan[2];
        for (int k = 0; k < 2; k++) {
            GraphBuilder b = new GraphBuilder(DType.F32, false, 7);
            graph.apply(b);
            plans[k] = k == 0 ? Compiler.compile(b.build(), CudaCrossBackend.backend().target()) : Compiler.compile(b.build());
        }
        try (Session cuda = Session.open(plans[0], CudaCrossBackend.backend(), SessionOptions.defaults());
             Session ref = Session.open(plans[1], "reference", SessionOptions.defaults())) {
            init.forEach((name, t) -> {
                cuda.set(name, t);
                ref.set(name, t);
            });
            for (int step = 0; step < STEPS; step++) {
                Map<String, Tensor> in = feeds.apply(step);
                Map<String, Tensor> got = new LinkedHashMap<>(cuda.run(in)), want = new LinkedHashMap<>(ref.run(in));
                got.putAll(cuda.persistent());
                want.putAll(ref.persistent());
                for (String name : want.keySet()) {
                    Tensor g = got.get(name), w = want.get(name);
                    for (long i = 0; i < w.size(); i++) {
                        if (Double.isNaN(w.get(i)) && Double.isNaN(g.get(i))) continue;
                        double err = Math.abs(g.get(i) - w.get(i));
                        if (!(err <= rtol * Math.abs(w.get(i))))
                            fail("step " + step + ", '" + name + "' at flat index " + i + ": cuda " + g.get(i)
                                    + ", reference " + w.get(i) + ", |err| " + err);
                    }
                }
            }
        }
    }

    /** States named {@code names}, random in [lo, hi] (squares and second moments: lo >= 0). */
    private static Map<String, Tensor> init(Shape s, Random r, double lo, double hi, String... names) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (String n : names) m.put(n, values(s, r, lo, hi));
        return m;
    }

    /** A gradient per step and a decaying learning rate (the schedule is an input: no recompile). */
    private static Function<Integer, Map<String, Tensor>> gradients(Shape s, long seed, double lr0, boolean withT) {
        return step -> {
            Random r = new Random(seed + 31L * step);
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("g", values(s, r, -1, 1));
            m.put("lr", Tensor.scalar(DType.F32, lr0 * Math.pow(0.7, step)));
            if (withT) m.put("t", Tensor.scalar(DType.F32, step + 1));
            return m;
        };
    }

    private static Shape shape(Random r) {
        return Shape.of(CudaLayoutKernelsTest.dims(r, r.nextInt(4), 6));
    }

    @Property(tries = 20)
    void sgdWithMomentumNesterovAndWeightDecayStepForStep(@ForAll boolean nesterov, @ForAll boolean decay,
                                                          @ForAll long seed) {
        Random r = new Random(seed);
        Shape s = shape(r);
        double mu = nesterov || r.nextBoolean() ? 0.1 + 0.85 * r.nextDouble() : 0, wd = decay ? 0.05 * r.nextDouble() : 0;
        steps(b -> {
            Value p = b.state("p", s, Init.zeros()), v = b.state("v", s, Init.zeros());
            List<Value> o = b.applyAll("sgd", new SgdUpdate(mu, wd, nesterov), p, v, b.input("g", s), b.input("lr", Shape.SCALAR));
            b.update(p, o.get(0));
            b.update(v, o.get(1));
            return null;
        }, init(s, r, -1, 1, "p", "v"), gradients(s, seed, 0.1 + r.nextDouble(), false), 0);
    }

    @Property(tries = 20)
    void adamAndAdamWWithBiasCorrectionStepForStep(@ForAll boolean decoupled, @ForAll boolean decay,
                                                   @ForAll long seed) {
        Random r = new Random(seed);
        Shape s = shape(r);
        double b1 = 0.5 + 0.49 * r.nextDouble(), b2 = 0.9 + 0.0999 * r.nextDouble(), eps = r.nextBoolean() ? 1e-8 : 1e-3;
        double wd = decay ? 0.1 * r.nextDouble() : 0;
        steps(b -> {
            Value p = b.state("p", s, Init.zeros()), m = b.state("m", s, Init.zeros()), v = b.state("v", s, Init.zeros());
            List<Value> o = b.applyAll("adam", new AdamUpdate(b1, b2, eps, wd, decoupled), p, m, v, b.input("g", s),
                    b.input("lr", Shape.SCALAR), b.input("t", Shape.SCALAR));
            b.update(p, o.get(0));
            b.update(m, o.get(1));
            b.update(v, o.get(2));
            return null;
        }, merge(init(s, r, -1, 1, "p", "m"), init(s, r, 0, 0.5, "v")), gradients(s, seed, 1e-3 + 0.1 * r.nextDouble(), true),
                1.2e-7 * STEPS);
    }

    @Property(tries = 24)
    void rmsPropPlainWithMomentumAndCenteredStepForStep(@ForAll boolean momentum, @ForAll boolean centered,
                                                        @ForAll boolean decay, @ForAll long seed) {
        Random r = new Random(seed);
        Shape s = shape(r);
        double alpha = 0.8 + 0.19 * r.nextDouble(), eps = r.nextBoolean() ? 1e-8 : 1e-2;
        double mu = momentum ? 0.1 + 0.8 * r.nextDouble() : 0, wd = decay ? 0.05 * r.nextDouble() : 0;
        RmsPropUpdate op = new RmsPropUpdate(alpha, eps, mu, wd, centered);
        List<String> states = new ArrayList<>(List.of("p", "sq"));
        if (momentum) states.add("buf");
        if (centered) states.add("avg");
        Map<String, Tensor> init = init(s, r, -1, 1, "p");
        init.putAll(init(s, r, 0.5, 1, "sq"));   // the square average bounds the gradient average's square
        if (momentum) init.putAll(init(s, r, -1, 1, "buf"));
        if (centered) init.putAll(init(s, r, -0.5, 0.5, "avg"));
        steps(b -> {
            List<Value> in = new ArrayList<>();
            for (String n : states) in.add(b.state(n, s, Init.zeros()));
            List<Value> args = new ArrayList<>(in);
            args.add(b.input("g", s));
            args.add(b.input("lr", Shape.SCALAR));
            List<Value> o = b.applyAll("rmsprop", op, args.toArray(Value[]::new));
            for (int k = 0; k < in.size(); k++) b.update(in.get(k), o.get(k));
            return null;
        }, init, gradients(s, seed, 1e-3 + 0.05 * r.nextDouble(), false), 0);
    }

    private static Map<String, Tensor> merge(Map<String, Tensor> a, Map<String, Tensor> b) {
        Map<String, Tensor> m = new LinkedHashMap<>(a);
        m.putAll(b);
        return m;
    }

    @Property(tries = 30)
    void globalNormScaleOverAnyGradients(@ForAll @IntRange(min = 1, max = 4) int count, @ForAll long seed) {
        Random r = new Random(seed);
        List<Shape> shapes = new ArrayList<>();
        for (int k = 0; k < count; k++) shapes.add(shape(r));
        // Sometimes below the joint norm (the factor clips), sometimes above (the factor is 1).
        double maxNorm = r.nextBoolean() ? 0.05 + r.nextDouble() : 10 + r.nextDouble() * 10;
        CudaCrossBackend.check(shapes, (b, g) -> List.of(b.apply("clip", new GlobalNormScale(maxNorm), g.toArray(Value[]::new))),
                seed, CudaCrossBackend.Options.forward("exact").againstFloat32());
    }

    /** All-zero gradients give 1 (the norm's epsilon), and the clipped factor by hand: norm 5 and maxNorm 1. */
    @Example
    void globalNormScaleByHand() {
        var b = new GraphBuilder(DType.F32, false);
        var g1 = b.input("g1", 2);
        var g2 = b.input("g2", 1, 1);
        b.output("f", b.apply("clip", new GlobalNormScale(1), g1, g2));
        try (Session s = Session.open(Compiler.compile(b.build(), CudaCrossBackend.backend().target()), CudaCrossBackend.backend(),
                SessionOptions.defaults())) {
            float f = s.run(Map.of("g1", Tensor.of(Shape.of(2), 3f, 0f), "g2", Tensor.of(Shape.of(1, 1), 4f))).get("f").toFloatArray()[0];
            assertEquals((float) (1 / (5 + GlobalNormScale.EPS)), f);
            float one = s.run(Map.of("g1", Tensor.of(Shape.of(2), 0f, 0f), "g2", Tensor.of(Shape.of(1, 1), 0f))).get("f").toFloatArray()[0];
            assertEquals(1f, one);
        }
    }
}
