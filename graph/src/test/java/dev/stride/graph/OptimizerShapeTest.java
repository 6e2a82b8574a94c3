package dev.stride.graph;

import dev.stride.graph.op.AdamUpdate;
import dev.stride.graph.op.Affine;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.GlobalNormScale;
import dev.stride.graph.op.RmsPropUpdate;
import dev.stride.graph.op.SgdUpdate;
import dev.stride.graph.op.SumTo;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shape rules of the optimizer update ops and the graphs {@link TrainDsl#trainStep} builds. */
class OptimizerShapeTest {
    private static final Shape S = Shape.SCALAR;

    private static void rejects(Op op, String rule, Shape... inputs) {
        var e = assertThrows(ShapeException.class, () -> op.inferShapes(List.of(inputs)));
        assertTrue(e.getMessage().contains(rule), () -> "expected '" + rule + "' in: " + e.getMessage());
    }

    private static void rejectsArg(String message, Supplier<?> make) {
        var e = assertThrows(IllegalArgumentException.class, make::get);
        assertTrue(e.getMessage().contains(message), () -> "expected '" + message + "' in: " + e.getMessage());
    }

    // ---------------------------------------------------------------- ops

    @Property(tries = 20)
    void adamShapes(@ForAll @IntRange(min = 1, max = 5) int a, @ForAll @IntRange(min = 1, max = 5) int b) {
        Shape p = Shape.of(a, b), q = Shape.of(a, b + 1);
        var adam = new AdamUpdate(0.9, 0.999, 1e-8, 0, false);
        assertEquals(List.of(p, p, p), adam.inferShapes(List.of(p, p, p, p, S, S)));
        rejects(adam, "first moment must have the shape of the parameter " + p + ", got " + q, p, q, p, p, S, S);
        rejects(adam, "second moment must have the shape of the parameter", p, p, q, p, S, S);
        rejects(adam, "gradient must have the shape of the parameter", p, p, p, q, S, S);
        rejects(adam, "lr must be a scalar [], got [1]", p, p, p, p, Shape.of(1), S);
        rejects(adam, "step count t must be a scalar [], got " + p, p, p, p, p, S, p);
        rejects(adam, "expects 6 input(s), got 5", p, p, p, p, S);
    }

    @Test
    void adamValidatesHyperparameters() {
        Shape p = Shape.of(2);
        Shape[] in = {p, p, p, p, S, S};
        rejects(new AdamUpdate(1, 0.999, 1e-8, 0, false), "beta1 must be in [0, 1), got 1.0", in);
        rejects(new AdamUpdate(0.9, -0.1, 1e-8, 0, true), "beta2 must be in [0, 1), got -0.1", in);
        rejects(new AdamUpdate(0.9, 0.999, -1, 0, false), "eps must be finite and >= 0, got -1.0", in);
        rejects(new AdamUpdate(0.9, 0.999, 1e-8, Double.NaN, true), "weightDecay must be finite and >= 0, got NaN", in);
    }

    @Property(tries = 20)
    void rmsPropShapesDependOnMomentumAndCentering(@ForAll @IntRange(min = 1, max = 6) int n,
                                                   @ForAll boolean momentum, @ForAll boolean centered) {
        Shape p = Shape.of(n);
        var op = new RmsPropUpdate(0.99, 1e-8, momentum ? 0.9 : 0, 0, centered);
        int states = 1 + (momentum ? 1 : 0) + (centered ? 1 : 0);
        assertEquals(states, op.states());
        List<Shape> in = new ArrayList<>(Collections.nCopies(1 + states + 1, p));
        in.add(S);
        assertEquals(Collections.nCopies(1 + states, p), op.inferShapes(in));
        List<Shape> missing = new ArrayList<>(in.subList(1, in.size()));
        rejects(op, "expects " + (states + 3) + " inputs (param, " + states + " state tensor(s)", missing.toArray(Shape[]::new));
        List<Shape> badGrad = new ArrayList<>(in);
        badGrad.set(states + 1, Shape.of(n + 1));
        rejects(op, "gradient must have the shape of the parameter", badGrad.toArray(Shape[]::new));
        List<Shape> badLr = new ArrayList<>(in);
        badLr.set(states + 2, p);
        rejects(op, "lr must be a scalar [], got " + p, badLr.toArray(Shape[]::new));
        rejects(new RmsPropUpdate(1.5, 1e-8, 0, 0, false), "alpha must be in [0, 1], got 1.5", p, p, p, S);
        rejects(new RmsPropUpdate(0.9, 1e-8, -1, 0, false), "momentum must be finite and >= 0, got -1.0", p, p, p, S);
    }

    @Property(tries = 20)
    void globalNormScaleTakesAnyGradientsAndGivesAScalar(@ForAll @IntRange(min = 1, max = 4) int k,
                                                        @ForAll @IntRange(min = 1, max = 5) int n) {
        List<Shape> in = new ArrayList<>();
        for (int i = 0; i < k; i++) in.add(Shape.of(n, i + 1));
        assertEquals(List.of(S), new GlobalNormScale(1).inferShapes(in));
        long size = in.stream().mapToLong(Shape::size).sum();
        assertEquals(2 * size, new GlobalNormScale(1).flops(in, List.of(S)));
        rejects(new GlobalNormScale(1), "expects at least 1 gradient, got 0");
        rejects(new GlobalNormScale(0), "maxNorm must be finite and > 0, got 0.0", in.toArray(Shape[]::new));
    }

    // ---------------------------------------------------------------- trainStep graphs

    /** loss = sum(w*x) + sum(head/b*x) + sum(frozen/c*x) over x [3]: every parameter gets a gradient. */
    private static GraphBuilder model(List<Value> lossOut) {
        var b = new GraphBuilder(DType.F32, true);
        Value x = b.input("x", 3);
        Value loss = null;
        for (String name : List.of("w", "head/b", "frozen/c")) {
            Value p = b.param(name, Shape.of(3), Init.ones());
            Value term = b.apply("sum", new SumTo(new int[0]), b.apply("mul", new Binary(Binary.Kind.MUL), p, x));
            loss = loss == null ? term : b.apply("add", new Binary(Binary.Kind.ADD), loss, term);
        }
        b.output("loss", loss);
        lossOut.add(loss);
        return b;
    }

    private static Set<String> names(List<Value> vs) { return vs.stream().map(Value::name).collect(Collectors.toSet()); }

    @Test
    void adamGetsMomentsPerTrainedParamAndOneSharedStepCounter() {
        List<Value> loss = new ArrayList<>();
        var b = model(loss);
        Value lr = b.trainStep(loss.getFirst(), TrainSpec.of(new Optimizer.Adam()).withFrozen(n -> n.startsWith("frozen/")));
        assertEquals("lr", lr.name());
        assertEquals(S, lr.shape());
        Graph g = b.build();
        assertEquals(Set.of("adam/t", "w/exp_avg", "w/exp_avg_sq", "head/b/exp_avg", "head/b/exp_avg_sq"), names(g.states()));
        Value t = g.value("adam/t");
        assertEquals(S, t.shape());
        var counter = g.updates().stream().filter(u -> u.target().equals(t)).findFirst().orElseThrow();
        assertEquals(new Affine(1, 1), g.producer(counter.source()).op());
        var update = g.producer(g.updates().stream().filter(u -> u.target().name().equals("w")).findFirst().orElseThrow().source());
        assertEquals(new AdamUpdate(0.9, 0.999, 1e-8, 0, false), update.op());
        assertEquals(List.of("w", "w/exp_avg", "w/exp_avg_sq"), update.inputs().subList(0, 3).stream().map(Value::name).toList());
        assertSame(lr, update.inputs().get(4));
        assertSame(counter.source(), update.inputs().get(5));      // this step's t, not the stored count
        assertEquals(Set.of("w", "w/exp_avg", "w/exp_avg_sq", "head/b", "head/b/exp_avg", "head/b/exp_avg_sq", "adam/t"),
                g.updates().stream().map(u -> u.target().name()).collect(Collectors.toSet()));
    }

    @Test
    void stateNamesFollowTheOptimizer() {
        assertEquals(List.of("momentum"), new Optimizer.Sgd().stateNames());
        assertEquals(List.of("exp_avg", "exp_avg_sq"), new Optimizer.AdamW().stateNames());
        assertEquals(List.of("square_avg"), new Optimizer.RmsProp().stateNames());
        assertEquals(List.of("square_avg", "momentum_buffer", "grad_avg"), new Optimizer.RmsProp(0.9, 1e-8, 0.5, 0, true).stateNames());
        List<Value> loss = new ArrayList<>();
        var b = model(loss);
        b.trainStep(loss.getFirst(), TrainSpec.of(new Optimizer.RmsProp(0.9, 1e-8, 0, 0, true)));
        Graph g = b.build();
        assertEquals(Set.of("w/square_avg", "w/grad_avg", "head/b/square_avg", "head/b/grad_avg", "frozen/c/square_avg",
                "frozen/c/grad_avg"), names(g.states()));
    }

    @Test
    void clippingScalesEveryGradientByOneSharedFactorAndGroupsShareTheirScaledRate() {
        List<Value> loss = new ArrayList<>();
        var b = model(loss);
        var spec = TrainSpec.of(new Optimizer.Sgd(0.9, 0, false)).withClipNorm(2.5)
                .withGroup(n -> n.startsWith("head/") || n.startsWith("frozen/"), 0.1)
                .withGroup(n -> true, 7);                  // never reached for head/ and frozen/: first match wins
        Value lr = b.trainStep(loss.getFirst(), spec);
        Graph g = b.build();
        List<Node> scales = g.nodes().stream().filter(n -> n.op() instanceof GlobalNormScale).toList();
        assertEquals(1, scales.size());
        assertEquals(new GlobalNormScale(2.5), scales.getFirst().op());
        assertEquals(3, scales.getFirst().inputs().size());
        List<Node> sgd = g.nodes().stream().filter(n -> n.op() instanceof SgdUpdate).toList();
        assertEquals(3, sgd.size());
        for (Node n : sgd) {
            Node clip = g.producer(n.inputs().get(2));
            assertEquals(new Binary(Binary.Kind.MUL), clip.op());
            assertSame(scales.getFirst().outputs().getFirst(), clip.inputs().get(1));
            Node rate = g.producer(n.inputs().get(3));
            assertSame(lr, rate.inputs().getFirst());
            String p = n.inputs().getFirst().name();
            assertEquals(new Affine(p.equals("w") ? 7 : 0.1, 0), rate.op(), p);
        }
        // head/b and frozen/c share the node that scales lr for their group.
        assertEquals(2, g.nodes().stream().filter(n -> n.op() instanceof Affine a && a.scale() != 1 && n.inputs().contains(lr)).count());
    }

    @Test
    void hyperparametersAreCheckedWhenTheStepIsBuilt() {
        List<Value> loss = new ArrayList<>();
        var b = model(loss);
        var e = assertThrows(GraphException.class, () -> b.trainStep(loss.getFirst(), TrainSpec.of(new Optimizer.Adam(0.9, 1.0, 1e-8, 0))));
        assertTrue(e.getMessage().contains("adam/w") && e.getMessage().contains("beta2 must be in [0, 1), got 1.0"), e.getMessage());
    }

    @Test
    void trainSpecValidatesAndComposes() {
        rejectsArg("learning-rate multiplier must be finite and >= 0, got -1.0",
                () -> TrainSpec.of(new Optimizer.Sgd()).withGroup(n -> true, -1));
        rejectsArg("clipNorm must be finite (<= 0 for no clipping), got NaN", () -> TrainSpec.of(new Optimizer.Sgd()).withClipNorm(Double.NaN));
        var spec = TrainSpec.of(new Optimizer.Sgd()).withGroup(n -> n.startsWith("a"), 2).withGroup(n -> n.startsWith("ab"), 3);
        assertEquals(2, spec.lrMultiplier("abc"));
        assertEquals(0, spec.groupOf("abc"));
        assertEquals(1, spec.lrMultiplier("xyz"));
        assertEquals(-1, spec.groupOf("xyz"));
        assertEquals(new Optimizer.AdamW(), spec.withOptimizer(new Optimizer.AdamW()).optimizer());
        assertEquals(2, spec.withOptimizer(new Optimizer.AdamW()).groups().size());
    }
}
