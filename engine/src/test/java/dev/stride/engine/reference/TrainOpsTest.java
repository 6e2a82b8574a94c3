package dev.stride.engine.reference;

import dev.stride.engine.GradCheck;
import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Autodiff;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.GraphException;
import dev.stride.graph.Init;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.BatchNorm2dInfer;
import dev.stride.graph.op.BatchNorm2dTrain;
import dev.stride.graph.op.BceWithLogits;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.Dropout;
import dev.stride.graph.op.GaussianKl;
import dev.stride.graph.op.L1Loss;
import dev.stride.graph.op.MseLoss;
import dev.stride.graph.op.Reparameterize;
import dev.stride.graph.op.SgdUpdate;
import dev.stride.graph.op.SoftmaxCrossEntropy;
import dev.stride.graph.op.SumTo;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainOpsTest {
    private static final double TOL = 1e-12;

    private static Session open(GraphBuilder b) {
        return Session.open(Compiler.compile(b.build()), "reference", SessionOptions.defaults().withThreads(1));
    }

    private static Tensor random(Shape s, long seed, double lo, double hi) {
        Random r = new Random(seed);
        Tensor t = Tensor.zeros(DType.F64, s);
        for (long i = 0; i < t.size(); i++) t.set(i, lo + (hi - lo) * r.nextDouble());
        return t;
    }

    private static Tensor positive(Tensor t) {        // U(-1, 1) -> U(0.5, 1.5): variances away from 0
        for (long i = 0; i < t.size(); i++) t.set(i, 1 + 0.5 * t.get(i));
        return t;
    }

    // ---------------------------------------------------------------- batch norm

    @Test
    void batchNormForwardMatchesPerChannelStatistics() {
        int n = 3, c = 2, h = 2, w = 3;
        var b = new GraphBuilder(DType.F64, true);
        Value x = b.input("x", n, c, h, w), gamma = b.input("gamma", c), beta = b.input("beta", c);
        List<Value> o = b.applyAll("bn", new BatchNorm2dTrain(1e-3), x, gamma, beta);
        b.output("y", o.get(0)).output("mean", o.get(1)).output("var", o.get(2));
        Tensor xt = random(x.shape(), 1, -2, 3), gt = random(gamma.shape(), 2, 0.5, 2), bt = random(beta.shape(), 3, -1, 1);
        try (Session s = open(b)) {
            var out = s.run(Map.of("x", xt, "gamma", gt, "beta", bt));
            for (int ci = 0; ci < c; ci++) {
                // Independent: gather the channel's values by multi-index, then textbook formulas.
                double[] vals = new double[n * h * w];
                int k = 0;
                for (int ni = 0; ni < n; ni++) for (int hi = 0; hi < h; hi++) for (int wi = 0; wi < w; wi++)
                    vals[k++] = xt.get(ni, ci, hi, wi);
                double mean = java.util.Arrays.stream(vals).average().orElseThrow();
                double var = java.util.Arrays.stream(vals).map(v -> (v - mean) * (v - mean)).sum() / vals.length;
                assertEquals(mean, out.get("mean").get(ci), TOL);
                assertEquals(var, out.get("var").get(ci), TOL);
                for (int ni = 0; ni < n; ni++) for (int hi = 0; hi < h; hi++) for (int wi = 0; wi < w; wi++) {
                    double expect = gt.get(ci) * (xt.get(ni, ci, hi, wi) - mean) / Math.sqrt(var + 1e-3) + bt.get(ci);
                    assertEquals(expect, out.get("y").get(ni, ci, hi, wi), 1e-12);
                }
            }
        }
    }

    @Test
    void runningStatisticsFollowPyTorchAndFeedTheInferenceGraph() {
        int n = 2, c = 3, h = 2, w = 2, m = n * h * w;
        double momentum = 0.1, eps = 1e-5;
        var b = new GraphBuilder(DType.F64, true);
        Value x = b.input("x", n, c, h, w);
        b.output("y", b.batchNorm2d("bn", x));
        Tensor x1 = random(x.shape(), 11, -1, 4), x2 = random(x.shape(), 12, -3, 1);
        double[] rm = new double[c], rv = new double[c];
        java.util.Arrays.fill(rv, 1);                                   // the documented initial values
        try (Session s = open(b)) {
            for (Tensor xt : List.of(x1, x2)) {
                s.run(Map.of("x", xt));
                for (int ci = 0; ci < c; ci++) {
                    double sum = 0, sq = 0;
                    for (int ni = 0; ni < n; ni++) for (int hi = 0; hi < h; hi++) for (int wi = 0; wi < w; wi++)
                        sum += xt.get(ni, ci, hi, wi);
                    double mean = sum / m;
                    for (int ni = 0; ni < n; ni++) for (int hi = 0; hi < h; hi++) for (int wi = 0; wi < w; wi++)
                        sq += Math.pow(xt.get(ni, ci, hi, wi) - mean, 2);
                    rm[ci] = (1 - momentum) * rm[ci] + momentum * mean;
                    rv[ci] = (1 - momentum) * rv[ci] + momentum * sq / (m - 1);   // unbiased
                }
                assertArrayEquals(rm, s.get("bn/running_mean").toDoubleArray(), TOL);
                assertArrayEquals(rv, s.get("bn/running_var").toDoubleArray(), TOL);
            }
            // The inference graph normalises with what training accumulated.
            var ib = new GraphBuilder(DType.F64, false);
            ib.output("y", ib.batchNorm2d("bn", ib.input("x", n, c, h, w)));
            try (Session inf = open(ib)) {
                assertEquals(4, inf.copyPersistentFrom(s));
                Tensor y = inf.run(Map.of("x", x1)).get("y");
                for (int ni = 0; ni < n; ni++) for (int ci = 0; ci < c; ci++)
                    assertEquals((x1.get(ni, ci, 1, 0) - rm[ci]) / Math.sqrt(rv[ci] + eps), y.get(ni, ci, 1, 0), TOL);
            }
        }
    }

    @Property(tries = 8)
    void batchNormTrainGradients(@ForAll @IntRange(min = 1, max = 3) int n, @ForAll @IntRange(min = 1, max = 3) int c,
                                 @ForAll @IntRange(min = 1, max = 3) int h, @ForAll @IntRange(min = 2, max = 3) int w) {
        List<Shape> shapes = List.of(Shape.of(n, c, h, w), Shape.of(c), Shape.of(c));
        // Only y is used: the backward must work with no gradient on the statistics outputs.
        GradCheck.check(shapes, GradCheck.randomInputs(shapes, n * 100L + c * 10 + h), (gb, xs) ->
                List.of(gb.applyAll("bn", new BatchNorm2dTrain(1e-5), xs.get(0), xs.get(1), xs.get(2)).getFirst()),
                5, 1e-6, 1e-6, 40);
    }

    @Test
    void batchNormInferForwardAndGradients() {
        List<Shape> shapes = List.of(Shape.of(2, 3, 2, 3), Shape.of(3), Shape.of(3), Shape.of(3), Shape.of(3));
        var inputs = GradCheck.randomInputs(shapes, 21);
        positive(inputs.get("x4"));
        var b = new GraphBuilder(DType.F64, false);
        List<Value> xs = java.util.stream.IntStream.range(0, shapes.size()).mapToObj(i -> b.input("x" + i, shapes.get(i))).toList();
        b.output("y", b.apply("bn", new BatchNorm2dInfer(0.01), xs.toArray(Value[]::new)));
        try (Session s = open(b)) {
            Tensor y = s.run(inputs).get("y");
            Tensor x = inputs.get("x0");
            for (int ci = 0; ci < 3; ci++) {
                double expect = inputs.get("x1").get(ci) * (x.get(1, ci, 1, 2) - inputs.get("x3").get(ci))
                        / Math.sqrt(inputs.get("x4").get(ci) + 0.01) + inputs.get("x2").get(ci);
                assertEquals(expect, y.get(1, ci, 1, 2), TOL);
            }
        }
        // Running statistics take no gradient: check x, gamma, beta only.
        GradCheck.check(shapes, inputs, (gb, v) -> List.of(gb.apply("bn", new BatchNorm2dInfer(0.01), v.toArray(Value[]::new))),
                6, 1e-6, 1e-7, 40, Set.of(0, 1, 2));
    }

    @Test
    void gradientThroughBatchStatisticsIsRefused() {
        var b = new GraphBuilder(DType.F64, true);
        Value x = b.input("x", 2, 2, 2, 2);
        List<Value> o = b.applyAll("bn", new BatchNorm2dTrain(1e-5), x, b.input("g", 2), b.input("b", 2));
        Value loss = b.mseLoss(o.get(1), b.input("t", 2));
        var e = assertThrows(GraphException.class, () -> Autodiff.gradients(b, loss, List.of(x)));
        assertTrue(e.getMessage().contains("batch mean/variance outputs are not supported"), e.getMessage());
    }

    // ---------------------------------------------------------------- dropout and noise

    @Test
    void dropoutMaskIsBinaryScaledReproduciblePerStepAndHasRateP() {
        double p = 0.3;
        int size = 200_000;
        var b = new GraphBuilder(DType.F32, true);
        Value x = b.input("x", size);
        List<Value> o = b.applyAll("drop", new Dropout(p, 1234), x);
        b.output("y", o.get(0)).output("mask", o.get(1));
        Tensor xt = Tensor.zeros(DType.F32, Shape.of(size));
        for (int i = 0; i < size; i++) xt.set(i, 1 + i % 7);
        try (Session s = open(b)) {
            s.setStep(3);
            var r1 = s.run(Map.of("x", xt));
            s.setStep(3);
            var again = s.run(Map.of("x", xt));
            var r2 = s.run(Map.of("x", xt));                          // step 4
            float keep = (float) (1 / (1 - p));
            int dropped = 0;
            for (int i = 0; i < size; i++) {
                double m = r1.get("mask").get(i);
                assertTrue(m == 0 || m == keep, "mask value " + m);
                if (m == 0) dropped++;
                assertEquals((float) (xt.get(i) * m), r1.get("y").get(i), 0);
            }
            // Binomial(200000, 0.3) has standard deviation ~205: 0.01*size is ~10 sigma.
            assertEquals(p, dropped / (double) size, 0.01);
            assertArrayEquals(r1.get("mask").toFloatArray(), again.get("mask").toFloatArray());
            int differ = 0;
            for (int i = 0; i < size; i++) if (r1.get("mask").get(i) != r2.get("mask").get(i)) differ++;
            // Independent masks disagree with probability 2p(1-p) = 0.42.
            assertEquals(0.42, differ / (double) size, 0.01);
        }
    }

    @Test
    void dropoutIsTheIdentityInAnInferenceGraph() {
        var b = new GraphBuilder(DType.F64, false);
        Value x = b.input("x", 3, 4);
        b.output("y", b.dropout(x, 0.5));
        Tensor xt = random(x.shape(), 5, -1, 1);
        try (Session s = open(b)) {
            assertArrayEquals(xt.toDoubleArray(), s.run(Map.of("x", xt)).get("y").toDoubleArray(), 0);
        }
    }

    @Test
    void dropoutGradient() {
        List<Shape> shapes = List.of(Shape.of(4, 5));
        GradCheck.check(shapes, GradCheck.randomInputs(shapes, 8), (gb, xs) -> gb.applyAll("drop", new Dropout(0.4, 77), xs.getFirst()),
                8, 1e-6, 1e-8, 20, null);
    }

    @Test
    void gaussianNoiseIsStandardNormalAndFreshPerStep() {
        int size = 200_000;
        var b = new GraphBuilder(DType.F64, true);
        b.output("e", b.gaussianNoise(size));
        try (Session s = open(b)) {
            double[] e1 = s.run(Map.of()).get("e").toDoubleArray();
            double[] e2 = s.run(Map.of()).get("e").toDoubleArray();
            s.setStep(0);
            assertArrayEquals(e1, s.run(Map.of()).get("e").toDoubleArray(), 0);
            double mean = 0, sq = 0, within1 = 0, corr = 0;
            for (int i = 0; i < size; i++) {
                mean += e1[i];
                sq += e1[i] * e1[i];
                if (Math.abs(e1[i]) < 1) within1++;
                corr += e1[i] * e2[i];
            }
            // Standard errors: mean 0.0022, variance 0.0032, P(|e|<1) 0.001, correlation 0.0022.
            assertEquals(0, mean / size, 0.015);
            assertEquals(1, sq / size, 0.02);
            assertEquals(0.6827, within1 / size, 0.01);
            assertEquals(0, corr / size, 0.015);
        }
    }

    @Test
    void reparameterisationIsMuPlusStdTimesNoiseAndReproduciblePerStep() {
        var b = new GraphBuilder(DType.F64, true);
        Value mu = b.input("mu", 3, 4), logvar = b.input("logvar", 3, 4);
        List<Value> o = b.applyAll("rep", new Reparameterize(99), mu, logvar);
        b.output("z", o.get(0)).output("eps", o.get(1));
        Tensor mt = random(mu.shape(), 1, -1, 1), lt = random(mu.shape(), 2, -2, 1);
        Map<String, Tensor> feeds = Map.of("mu", mt, "logvar", lt);
        try (Session s = open(b)) {
            s.setStep(5);
            var r1 = s.run(feeds);
            s.setStep(5);
            var r2 = s.run(feeds);
            var r3 = s.run(feeds);
            assertArrayEquals(r1.get("z").toDoubleArray(), r2.get("z").toDoubleArray(), 0);
            assertNotEquals(r1.get("eps").get(0), r3.get("eps").get(0));
            for (int i = 0; i < 12; i++)
                assertEquals(mt.get(i) + Math.exp(0.5 * lt.get(i)) * r1.get("eps").get(i), r1.get("z").get(i), TOL);
        }
    }

    @Test
    void reparameterisationGradients() {
        List<Shape> shapes = List.of(Shape.of(3, 4), Shape.of(3, 4));
        // Both outputs: the noise must take no gradient back to mu or logvar.
        GradCheck.check(shapes, GradCheck.randomInputs(shapes, 3),
                (gb, xs) -> gb.applyAll("rep", new Reparameterize(4), xs.get(0), xs.get(1)), 9, 1e-6, 1e-7, 30, null);
        GradCheck.check(shapes, GradCheck.randomInputs(shapes, 4),
                (gb, xs) -> List.of(gb.reparameterize(xs.get(0), xs.get(1))), 10, 1e-6, 1e-7, 30, null);
    }

    // ---------------------------------------------------------------- losses

    private static double scalarLoss(GraphBuilder b, Value loss, Map<String, Tensor> feeds) {
        b.output("loss", loss);
        try (Session s = open(b)) { return s.run(feeds).get("loss").item(); }
    }

    @Test
    void softmaxCrossEntropyForwardAndGradient() {
        int n = 4, c = 5;
        Tensor logits = random(Shape.of(n, c), 31, -3, 3);
        Tensor labels = Tensor.of(Shape.of(n), 0.0, 4.0, 2.0, 2.0);
        var b = new GraphBuilder(DType.F64, false);
        double loss = scalarLoss(b, b.softmaxCrossEntropy(b.input("x0", n, c), b.input("x1", n)), Map.of("x0", logits, "x1", labels));
        double expect = 0;
        for (int i = 0; i < n; i++) {
            double z = 0;
            for (int k = 0; k < c; k++) z += Math.exp(logits.get(i, k));
            expect -= Math.log(Math.exp(logits.get(i, (int) labels.get(i))) / z);
        }
        assertEquals(expect / n, loss, 1e-12);
        GradCheck.check(List.of(Shape.of(n, c), Shape.of(n)), Map.of("x0", logits, "x1", labels),
                (gb, xs) -> List.of(gb.apply("ce", new SoftmaxCrossEntropy(), xs.get(0), xs.get(1))), 11, 1e-6, 1e-8, 20, Set.of(0));
    }

    @Test
    void softmaxCrossEntropyIsStableForHugeLogits() {
        var b = new GraphBuilder(DType.F64, false);
        double loss = scalarLoss(b, b.softmaxCrossEntropy(b.input("x", 1, 2), b.input("y", 1)),
                Map.of("x", Tensor.of(Shape.of(1, 2), 1000.0, 0.0), "y", Tensor.of(Shape.of(1), 1.0)));
        assertEquals(1000, loss, 1e-9);
    }

    @Test
    void softmaxCrossEntropyRejectsBadLabelsNamingRowAndValue() {
        for (double bad : new double[] {1.5, -1, 3, Double.NaN}) {
            var b = new GraphBuilder(DType.F64, false);
            b.output("loss", b.softmaxCrossEntropy(b.input("x", 3, 3), b.input("y", 3)));
            try (Session s = open(b)) {
                var e = assertThrows(IllegalStateException.class, () -> s.run(Map.of("x", Tensor.zeros(DType.F64, Shape.of(3, 3)),
                        "y", Tensor.of(Shape.of(3), 0.0, 2.0, bad))));
                var cause = assertInstanceOf(IllegalArgumentException.class, e.getCause());
                assertTrue(cause.getMessage().contains("label of row 2 is " + bad + ", not a class index in [0, 3)"),
                        cause.getMessage());
            }
        }
    }

    @Test
    void bceWithLogitsForwardAndGradients() {
        Shape sh = Shape.of(3, 4);
        Tensor x = random(sh, 41, -4, 4), t = random(sh, 42, 0, 1);
        var b = new GraphBuilder(DType.F64, false);
        double loss = scalarLoss(b, b.bceWithLogits(b.input("x", 3, 4), b.input("t", 3, 4)), Map.of("x", x, "t", t));
        double expect = 0;
        for (int i = 0; i < 12; i++) {     // the textbook form, fine for moderate logits
            double p = 1 / (1 + Math.exp(-x.get(i)));
            expect -= t.get(i) * Math.log(p) + (1 - t.get(i)) * Math.log(1 - p);
        }
        assertEquals(expect / 12, loss, 1e-12);
        var big = new GraphBuilder(DType.F64, false);
        double stable = scalarLoss(big, big.bceWithLogits(big.input("x", 2), big.input("t", 2)),
                Map.of("x", Tensor.of(Shape.of(2), 800.0, -800.0), "t", Tensor.of(Shape.of(2), 0.0, 0.0)));
        assertEquals(400, stable, 1e-9);       // (800 - 0 + log1p(e^-800) + 0 + log1p(e^-800)) / 2
        List<Shape> shapes = List.of(sh, sh);
        GradCheck.check(shapes, GradCheck.randomInputs(shapes, 43),
                (gb, xs) -> List.of(gb.apply("bce", new BceWithLogits(), xs.get(0), xs.get(1))), 12, 1e-6, 1e-8, 30, null);
    }

    @Test
    void mseAndL1ForwardAndGradients() {
        Shape sh = Shape.of(2, 3, 2);
        Tensor a = random(sh, 51, -2, 2), c = random(sh, 52, -2, 2);
        double mse = 0, l1 = 0;
        for (int i = 0; i < 12; i++) {
            mse += Math.pow(a.get(i) - c.get(i), 2);
            l1 += Math.abs(a.get(i) - c.get(i));
        }
        var b1 = new GraphBuilder(DType.F64, false);
        assertEquals(mse / 12, scalarLoss(b1, b1.mseLoss(b1.input("a", sh), b1.input("b", sh)), Map.of("a", a, "b", c)), 1e-12);
        var b2 = new GraphBuilder(DType.F64, false);
        assertEquals(l1 / 12, scalarLoss(b2, b2.l1Loss(b2.input("a", sh), b2.input("b", sh)), Map.of("a", a, "b", c)), 1e-12);
        List<Shape> shapes = List.of(sh, sh);
        GradCheck.check(shapes, GradCheck.randomInputs(shapes, 53),
                (gb, xs) -> List.of(gb.apply("mse", new MseLoss(), xs.get(0), xs.get(1))), 13, 1e-6, 1e-8, 30, null);
        GradCheck.check(shapes, GradCheck.randomInputs(shapes, 54),
                (gb, xs) -> List.of(gb.apply("l1", new L1Loss(), xs.get(0), xs.get(1))), 14, 1e-6, 1e-8, 30, null);
    }

    @Test
    void l1SubgradientIsZeroWhereOperandsAreEqual() {
        var b = new GraphBuilder(DType.F64, true);
        Value a = b.input("a", 3), c = b.input("b", 3);
        Value loss = b.l1Loss(a, c);
        var g = Autodiff.gradients(b, loss, List.of(a, c));
        b.output("da", g.get(a)).output("db", g.get(c));
        try (Session s = open(b)) {
            var out = s.run(Map.of("a", Tensor.of(Shape.of(3), 1.0, 2.0, 3.0), "b", Tensor.of(Shape.of(3), 0.0, 2.0, 5.0)));
            assertArrayEquals(new double[] {1 / 3.0, 0, -1 / 3.0}, out.get("da").toDoubleArray(), TOL);
            assertArrayEquals(new double[] {-1 / 3.0, 0, 1 / 3.0}, out.get("db").toDoubleArray(), TOL);
        }
    }

    @Test
    void gaussianKlForwardAndGradients() {
        Shape sh = Shape.of(3, 4);
        Tensor mu = random(sh, 61, -1, 1), lv = random(sh, 62, -2, 1);
        double kl = 0;
        for (int n = 0; n < 3; n++) {
            // KL(N(m, s^2) || N(0, 1)) = log(1/s) + (s^2 + m^2)/2 - 1/2 per dimension, summed, then averaged.
            for (int d = 0; d < 4; d++) {
                double m = mu.get(n, d), s2 = Math.exp(lv.get(n, d));
                kl += -0.5 * Math.log(s2) + (s2 + m * m) / 2 - 0.5;
            }
        }
        var b = new GraphBuilder(DType.F64, false);
        assertEquals(kl / 3, scalarLoss(b, b.gaussianKl(b.input("mu", sh), b.input("lv", sh)), Map.of("mu", mu, "lv", lv)), 1e-12);
        List<Shape> shapes = List.of(sh, sh);
        GradCheck.check(shapes, GradCheck.randomInputs(shapes, 63),
                (gb, xs) -> List.of(gb.apply("kl", new GaussianKl(), xs.get(0), xs.get(1))), 15, 1e-6, 1e-8, 30, null);
    }

    // ---------------------------------------------------------------- SGD

    @ParameterizedTest
    @CsvSource({"0.9, 0, false", "0.9, 0.01, true", "0, 0.1, false", "0.5, 0.05, false", "0.8, 0, true"})
    void sgdUpdateMatchesPyTorchOverThreeSteps(double momentum, double wd, boolean nesterov) {
        int size = 5;
        var b = new GraphBuilder(DType.F64, true);
        Value p = b.param("p", Shape.of(size), Init.zeros());
        Value v = b.state("v", Shape.of(size), Init.zeros());
        List<Value> o = b.applyAll("sgd", new SgdUpdate(momentum, wd, nesterov), p, v, b.input("g", size), b.input("lr"));
        b.update(p, o.get(0));
        b.update(v, o.get(1));
        Tensor p0 = random(Shape.of(size), 71, -1, 1);
        double[] param = p0.toDoubleArray();
        double[] buf = null;          // PyTorch's momentum_buffer, None before the first step
        double[] lrs = {0.1, 0.05, 0.2};
        try (Session s = open(b)) {
            s.set("p", p0);
            for (int step = 0; step < 3; step++) {
                Tensor g = random(Shape.of(size), 72 + step, -1, 1);
                s.run(Map.of("g", g, "lr", Tensor.scalar(DType.F64, lrs[step])));
                // torch.optim.SGD, dampening 0, written as its source reads.
                double[] dp = new double[size];
                for (int i = 0; i < size; i++) dp[i] = g.get(i) + wd * param[i];
                if (momentum != 0) {
                    if (buf == null) buf = dp.clone();
                    else for (int i = 0; i < size; i++) buf[i] = momentum * buf[i] + dp[i];
                    if (nesterov) for (int i = 0; i < size; i++) dp[i] = dp[i] + momentum * buf[i];
                    else dp = buf.clone();
                }
                for (int i = 0; i < size; i++) param[i] -= lrs[step] * dp[i];
                assertArrayEquals(param, s.get("p").toDoubleArray(), TOL, "step " + step);
                if (momentum != 0) assertArrayEquals(buf, s.get("v").toDoubleArray(), TOL, "step " + step);
            }
        }
    }

    @Test
    void sgdStepFitsLinearLeastSquares() {
        int n = 8, d = 3;
        double rate = 0.1;
        double[] wTrue = {0.5, -1.0, 2.0};
        double bTrue = 0.3;
        var gb = new GraphBuilder(DType.F64, true);
        Value x = gb.input("x", n, d), y = gb.input("y", n, 1);
        Value w = gb.param("w", Shape.of(d), Init.zeros());
        Value bias = gb.param("b", Shape.of(1), Init.zeros());
        Value xw = gb.apply("xw", new SumTo(new int[] {n, 1}), gb.apply("mul", new Binary(Binary.Kind.MUL), x, w));
        Value pred = gb.apply("pred", new Binary(Binary.Kind.ADD), xw, bias);
        Value loss = gb.mseLoss(pred, y);
        gb.output("loss", loss);
        Value lr = gb.sgdStep(loss, 0.5);
        assertEquals("lr", lr.name());
        Tensor xt = random(Shape.of(n, d), 81, -1, 1), yt = Tensor.zeros(DType.F64, Shape.of(n, 1));
        for (int i = 0; i < n; i++) {
            double t = bTrue;
            for (int j = 0; j < d; j++) t += wTrue[j] * xt.get(i, j);
            yt.set(i, t);
        }
        Map<String, Tensor> feeds = new HashMap<>(Map.of("x", xt, "y", yt, "lr", Tensor.scalar(DType.F64, rate)));
        try (Session s = Session.open(Compiler.compile(gb.build()), "reference", SessionOptions.defaults())) {
            double first = s.run(feeds).get("loss").item();
            // After one step from w = 0, b = 0: velocity = gradient = 2/n * X^T(0 - y), w = -lr * gradient.
            for (int j = 0; j < d; j++) {
                double grad = 0;
                for (int i = 0; i < n; i++) grad += 2.0 / n * xt.get(i, j) * -yt.get(i);
                assertEquals(grad, s.get("w/momentum").get(j), TOL);
                assertEquals(-rate * grad, s.get("w").get(j), TOL);
            }
            double last = first;
            for (int step = 1; step < 20; step++) {
                double now = s.run(feeds).get("loss").item();
                assertTrue(now < last, "step " + step + ": loss " + last + " -> " + now);
                last = now;
            }
            assertTrue(last < 0.05 * first, "loss " + first + " -> " + last);
            double err = 0;
            for (int j = 0; j < d; j++) err += Math.abs(s.get("w").get(j) - wTrue[j]);
            double errStart = 0;
            for (double wj : wTrue) errStart += Math.abs(wj);
            assertTrue(err < errStart, "parameters moved toward the solution: " + err + " vs " + errStart);
        }
    }
}
