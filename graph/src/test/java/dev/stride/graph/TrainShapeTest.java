package dev.stride.graph;

import dev.stride.graph.op.Affine;
import dev.stride.graph.op.BatchNorm2dBackward;
import dev.stride.graph.op.BatchNorm2dInfer;
import dev.stride.graph.op.BatchNorm2dInferBackward;
import dev.stride.graph.op.BatchNorm2dTrain;
import dev.stride.graph.op.BceWithLogits;
import dev.stride.graph.op.BceWithLogitsBackward;
import dev.stride.graph.op.Dropout;
import dev.stride.graph.op.GaussianKl;
import dev.stride.graph.op.GaussianKlBackward;
import dev.stride.graph.op.GaussianNoise;
import dev.stride.graph.op.L1Loss;
import dev.stride.graph.op.L1LossBackward;
import dev.stride.graph.op.MseLoss;
import dev.stride.graph.op.Reparameterize;
import dev.stride.graph.op.ReparameterizeBackward;
import dev.stride.graph.op.SgdUpdate;
import dev.stride.graph.op.SoftmaxCrossEntropy;
import dev.stride.graph.op.SoftmaxCrossEntropyBackward;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainShapeTest {
    private static final Shape SCALAR = Shape.SCALAR;

    /** Asserts the op refuses these input shapes with a message containing {@code rule}. */
    private static void rejects(Op op, String rule, Shape... inputs) {
        var e = assertThrows(ShapeException.class, () -> op.inferShapes(List.of(inputs)));
        assertTrue(e.getMessage().contains(rule), () -> "expected '" + rule + "' in: " + e.getMessage());
    }

    // ---- batch norm ----

    @Property(tries = 40)
    void batchNormShapes(@ForAll @IntRange(min = 1, max = 5) int n, @ForAll @IntRange(min = 1, max = 6) int c,
                         @ForAll @IntRange(min = 1, max = 7) int h, @ForAll @IntRange(min = 1, max = 7) int w,
                         @ForAll @DoubleRange(min = 0.001, max = 1) @net.jqwik.api.constraints.Scale(4) double eps) {
        Shape x = Shape.of(n, c, h, w), ch = Shape.of(c);
        assertEquals(List.of(x, ch, ch), new BatchNorm2dTrain(eps).inferShapes(List.of(x, ch, ch)));
        assertEquals(List.of(x, ch, ch), new BatchNorm2dBackward(eps).inferShapes(List.of(x, ch, ch, ch, x)));
        assertEquals(List.of(x), new BatchNorm2dInfer(eps).inferShapes(List.of(x, ch, ch, ch, ch)));
        assertEquals(List.of(x, ch, ch), new BatchNorm2dInferBackward(eps).inferShapes(List.of(x, ch, ch, ch, x)));
        Shape wrong = Shape.of(c + 1);
        rejects(new BatchNorm2dTrain(eps), "gamma must have shape [C] = [" + c + "], got [" + (c + 1) + "]", x, wrong, ch);
        rejects(new BatchNorm2dTrain(eps), "beta must have shape [C] = [" + c + "]", x, ch, wrong);
        rejects(new BatchNorm2dInfer(eps), "runningVar must have shape [C] = [" + c + "]", x, ch, ch, ch, wrong);
        rejects(new BatchNorm2dInfer(eps), "runningMean must have shape [C]", x, ch, ch, wrong, ch);
        rejects(new BatchNorm2dBackward(eps), "var must have shape [C]", x, ch, ch, wrong, x);
        rejects(new BatchNorm2dBackward(eps), "dy must have the shape of x", x, ch, ch, ch, Shape.of(n, c, h, w + 1));
        rejects(new BatchNorm2dInferBackward(eps), "dy must have the shape of x", x, ch, ch, ch, ch);
    }

    @Test
    void batchNormRejectsBadRankEpsAndEmptyChannels() {
        Shape ch = Shape.of(3);
        rejects(new BatchNorm2dTrain(1e-5), "input must be NCHW (rank 4), got rank 3", Shape.of(2, 3, 4), ch, ch);
        rejects(new BatchNorm2dTrain(0), "eps must be finite and > 0, got 0.0", Shape.of(2, 3, 4, 4), ch, ch);
        rejects(new BatchNorm2dInfer(Double.NaN), "eps must be finite and > 0", Shape.of(2, 3, 4, 4), ch, ch, ch, ch);
        rejects(new BatchNorm2dTrain(1e-5), "N*H*W = 0*4*4 = 0", Shape.of(0, 3, 4, 4), ch, ch);
        rejects(new BatchNorm2dTrain(1e-5), "expects 3 input(s), got 2", Shape.of(2, 3, 4, 4), ch);
    }

    @Test
    void builderErrorNamesNodeOpAndShapes() {
        var b = new GraphBuilder(DType.F32, true);
        Value x = b.input("x", 2, 3, 4, 4);
        Value g = b.input("g", 4);
        Value beta = b.input("beta", 3);
        var e = assertThrows(GraphException.class, () -> b.applyAll("bn1", new BatchNorm2dTrain(1e-5), x, g, beta));
        assertTrue(e.getMessage().contains("node 'bn1' (BatchNorm2dTrain {eps=1.0E-5}) with inputs [2, 3, 4, 4], [4], [3]"),
                e.getMessage());
        assertTrue(e.getMessage().contains("gamma must have shape [C] = [3], got [4]"), e.getMessage());
    }

    // ---- random ops ----

    @Property(tries = 30)
    void dropoutAndNoiseShapes(@ForAll @IntRange(min = 0, max = 5) int a, @ForAll @IntRange(min = 1, max = 5) int b,
                               @ForAll @DoubleRange(min = 0, max = 0.99) double p) {
        Shape s = Shape.of(a, b);
        assertEquals(List.of(s, s), new Dropout(p, 1).inferShapes(List.of(s)));
        assertEquals(List.of(s), new GaussianNoise(new int[] {a, b}, 3).inferShapes(List.of()));
        assertEquals(List.of(s, s), new Reparameterize(5).inferShapes(List.of(s, s)));
        assertEquals(List.of(s), new ReparameterizeBackward().inferShapes(List.of(s, s, s)));
        rejects(new Reparameterize(5), "mu and logvar must have the same shape, got [" + a + ", " + b + "] and [" + a + ", "
                + (b + 1) + "]", s, Shape.of(a, b + 1));
        rejects(new ReparameterizeBackward(), "logvar, eps and dz must have the same shape", s, s, Shape.of(b));
    }

    @Test
    void dropoutValidatesProbability() {
        Shape s = Shape.of(4);
        rejects(new Dropout(1, 0), "drop probability p must be in [0, 1), got 1.0", s);
        rejects(new Dropout(-0.1, 0), "drop probability p must be in [0, 1), got -0.1", s);
        rejects(new Dropout(Double.NaN, 0), "drop probability p must be in [0, 1), got NaN", s);
        rejects(new GaussianNoise(new int[] {2, -1}, 0), "dimension -1 must be >= 0");
        rejects(new GaussianNoise(new int[] {2}, 0), "expects 0 input(s), got 1", s);
    }

    // ---- losses ----

    @Property(tries = 30)
    void lossShapes(@ForAll @IntRange(min = 1, max = 6) int n, @ForAll @IntRange(min = 1, max = 6) int c) {
        Shape logits = Shape.of(n, c), labels = Shape.of(n);
        assertEquals(List.of(SCALAR), new SoftmaxCrossEntropy().inferShapes(List.of(logits, labels)));
        assertEquals(List.of(logits), new SoftmaxCrossEntropyBackward().inferShapes(List.of(logits, labels, SCALAR)));
        rejects(new SoftmaxCrossEntropy(), "labels must have shape [N] = [" + n + "], got [" + (n + 1) + "]",
                logits, Shape.of(n + 1));
        rejects(new SoftmaxCrossEntropy(), "labels must have shape [N] = [" + n + "]", logits, Shape.of(n, 1));
        rejects(new SoftmaxCrossEntropy(), "logits must be [N, C] (rank 2)", Shape.of(n, c, 1), labels);
        rejects(new SoftmaxCrossEntropyBackward(), "dy must be a scalar [], got [1]", logits, labels, Shape.of(1));
        for (Op op : List.of(new BceWithLogits(), new MseLoss(), new L1Loss(), new GaussianKl())) {
            assertEquals(List.of(SCALAR), op.inferShapes(List.of(logits, logits)), op.kind());
            rejects(op, "must have the same shape, got [" + n + ", " + c + "] and [" + c + ", " + (n + 1) + "]",
                    logits, Shape.of(c, n + 1));
        }
        assertEquals(List.of(logits, logits), new BceWithLogitsBackward().inferShapes(List.of(logits, logits, SCALAR)));
        assertEquals(List.of(logits), new L1LossBackward().inferShapes(List.of(logits, logits, SCALAR)));
        assertEquals(List.of(logits, logits), new GaussianKlBackward().inferShapes(List.of(logits, logits, SCALAR)));
        rejects(new GaussianKlBackward(), "dy must be a scalar []", logits, logits, labels);
    }

    @Test
    void lossesRejectEmptyAndScalarOperands() {
        Shape empty = Shape.of(0, 3);
        rejects(new MseLoss(), "the mean needs at least one element, a [0, 3] has none", empty, empty);
        rejects(new GaussianKl(), "mu must be [N, ...] with a batch dimension", SCALAR, SCALAR);
        rejects(new SoftmaxCrossEntropy(), "logits need N >= 1 rows and C >= 1 classes", Shape.of(2, 0), Shape.of(2));
    }

    // ---- SGD ----

    @Property(tries = 20)
    void sgdShapes(@ForAll @IntRange(min = 1, max = 5) int a, @ForAll @IntRange(min = 1, max = 5) int b) {
        Shape p = Shape.of(a, b);
        assertEquals(List.of(p, p), new SgdUpdate(0.9, 1e-4, true).inferShapes(List.of(p, p, p, SCALAR)));
        rejects(new SgdUpdate(0.9, 0, false), "lr must be a scalar [], got [1]", p, p, p, Shape.of(1));
        rejects(new SgdUpdate(0.9, 0, false), "gradient must have the shape of the parameter", p, p, Shape.of(b, a + 1), SCALAR);
        rejects(new SgdUpdate(0.9, 0, false), "velocity must have the shape of the parameter", p, Shape.of(a + 1), p, SCALAR);
    }

    @Test
    void sgdValidatesHyperparameters() {
        Shape p = Shape.of(3);
        rejects(new SgdUpdate(-0.5, 0, false), "momentum must be finite and >= 0, got -0.5", p, p, p, SCALAR);
        rejects(new SgdUpdate(0.9, -1, false), "weightDecay must be finite and >= 0, got -1.0", p, p, p, SCALAR);
        rejects(new SgdUpdate(0, 0, true), "nesterov needs momentum > 0", p, p, p, SCALAR);
    }

    // ---- DSL ----

    @Test
    void batchNormTrainingGraphUpdatesRunningStatsWithUnbiasedVariance() {
        var b = new GraphBuilder(DType.F32, true);
        Value x = b.input("x", 2, 3, 4, 5);
        Value y;
        try (var s = b.scope("block")) { y = b.batchNorm2d("bn", x, 1e-3, 0.25); }
        assertEquals(x.shape(), y.shape());
        Graph g = b.output("y", y).build();
        assertEquals(Set.of("block/bn/weight", "block/bn/bias"), names(g.params()));
        assertEquals(Set.of("block/bn/running_mean", "block/bn/running_var"), names(g.states()));
        assertEquals(Set.of("block/bn/running_mean", "block/bn/running_var"),
                g.updates().stream().map(u -> u.target().name()).collect(Collectors.toSet()));
        assertEquals(new BatchNorm2dTrain(1e-3), g.producer(y).op());
        // n = N*H*W = 40: the batch variance enters as momentum * n/(n-1).
        assertTrue(g.nodes().stream().anyMatch(n -> n.op().equals(new Affine(0.25 * 40 / 39.0, 0))));
        assertTrue(g.nodes().stream().anyMatch(n -> n.op().equals(new Affine(0.75, 0))));
    }

    @Test
    void batchNormInferenceGraphUsesRunningStats() {
        var b = new GraphBuilder(DType.F32, false);
        Value x = b.input("x", 1, 2, 3, 3);
        Value y = b.batchNorm2d("bn", x);
        Graph g = b.output("y", y).build();
        assertEquals(new BatchNorm2dInfer(1e-5), g.producer(y).op());
        assertTrue(g.updates().isEmpty());
        assertEquals(List.of("x", "bn/weight", "bn/bias", "bn/running_mean", "bn/running_var"),
                g.producer(y).inputs().stream().map(Value::name).toList());
    }

    @Test
    void batchNormDslRejectsBadInput() {
        var b = new GraphBuilder(DType.F32, true);
        var e = assertThrows(GraphException.class, () -> b.batchNorm2d("bn", b.input("x", 2, 3)));
        assertTrue(e.getMessage().contains("must be NCHW (rank 4), got [2, 3]"), e.getMessage());
        var e2 = assertThrows(GraphException.class, () -> b.batchNorm2d("bn2", b.input("one", 1, 3, 1, 1)));
        assertTrue(e2.getMessage().contains("more than one value per channel (N*H*W = 1)"), e2.getMessage());
        var e3 = assertThrows(GraphException.class, () -> b.batchNorm2d("bn3", b.input("z", 2, 3, 2, 2), 1e-5, 1.5));
        assertTrue(e3.getMessage().contains("momentum must be in [0, 1], got 1.5"), e3.getMessage());
    }

    @Test
    void dropoutIsIdentityOutsideTrainingAndAtZero() {
        var inf = new GraphBuilder(DType.F32, false);
        Value x = inf.input("x", 2, 3);
        assertSame(x, inf.dropout(x, 0.5));
        var tr = new GraphBuilder(DType.F32, true);
        Value x2 = tr.input("x", 2, 3);
        assertSame(x2, tr.dropout(x2, 0));
        Value y = tr.dropout(x2, 0.3);
        assertTrue(tr.build0().producer(y).op() instanceof Dropout d && d.p() == 0.3);
        var e = assertThrows(GraphException.class, () -> inf.dropout(x, 1.0));
        assertTrue(e.getMessage().contains("p must be in [0, 1), got 1.0"), e.getMessage());
    }

    @Test
    void randomOpsGetDistinctSeeds() {
        var b = new GraphBuilder(DType.F32, true);
        Value a = b.gaussianNoise(2, 2), c = b.gaussianNoise(2, 2);
        Graph g = b.build0();
        assertTrue(((GaussianNoise) g.producer(a).op()).seed() != ((GaussianNoise) g.producer(c).op()).seed());
    }

    @Test
    void sgdStepUpdatesEveryTrainedParamThatHasAGradient() {
        var b = new GraphBuilder(DType.F32, true);
        Value x = b.input("x", 4, 3);
        Value w = b.param("w", Shape.of(3), Init.ones());
        Value frozen = b.param("frozen/bias", Shape.of(3), Init.zeros());
        b.param("unused", Shape.of(2), Init.zeros());
        Value pred = b.apply("pred", new dev.stride.graph.op.Binary(dev.stride.graph.op.Binary.Kind.ADD),
                b.apply("mul", new dev.stride.graph.op.Binary(dev.stride.graph.op.Binary.Kind.MUL), x, w), frozen);
        Value loss = b.mseLoss(pred, b.input("target", 4, 3));
        Value lr = b.sgdStep(loss, 0.9, 1e-4, true, n -> n.startsWith("frozen/"));
        assertEquals("lr", lr.name());
        assertEquals(SCALAR, lr.shape());
        assertEquals(Value.Kind.INPUT, lr.kind());
        Graph g = b.output("loss", loss).build();
        assertEquals(Set.of("w/momentum"), names(g.states()));
        assertEquals(Set.of("w", "w/momentum"), g.updates().stream().map(u -> u.target().name()).collect(Collectors.toSet()));
        var sgd = g.producer(g.updates().getFirst().source());
        assertEquals(new SgdUpdate(0.9, 1e-4, true), sgd.op());
        assertEquals(List.of("w", "w/momentum"), sgd.inputs().subList(0, 2).stream().map(Value::name).toList());
        assertEquals(lr, sgd.inputs().get(3));
    }

    private static Set<String> names(List<Value> vs) { return vs.stream().map(Value::name).collect(Collectors.toSet()); }
}
