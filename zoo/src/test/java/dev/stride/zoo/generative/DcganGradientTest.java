package dev.stride.zoo.generative;

import dev.stride.engine.Session;
import dev.stride.engine.Tensor;
import dev.stride.graph.DType;
import dev.stride.graph.Optimizer;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.TrainSpec;
import dev.stride.graph.Value;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end: the update each training plan applies is its loss's gradient. With plain SGD, p' = p - lr*g, so
 * (p - p')/lr is the plan's gradient; it is compared with central differences of the plan's loss output (lr 0, so
 * the parameters stay put). F64, tiny conditional networks; a few elements of every trained parameter.
 */
class DcganGradientTest {
    private static final Dcgan GAN = new Dcgan(new Dcgan.Config(3, 2, 2, 10, DType.F64));
    private static final int N = 3;
    private static final double LR = 1e-3, H = 1e-5;

    private static Tensor z() {
        var r = new SplittableRandom(4);
        double[] z = new double[N * 3];
        for (int i = 0; i < z.length; i++) z[i] = r.nextGaussian();
        return Tensor.of(Shape.of(N, 3, 1, 1), z);
    }

    private static Map<String, Tensor> dInputs(double lr) {
        return Map.of(Dcgan.REAL, DcganTest.real(0, N).as(DType.F64), Dcgan.Z, z(), Dcgan.LABELS,
                Digits.oneHot(0, N).as(DType.F64), Dcgan.D_LR, Tensor.scalar(DType.F64, lr));
    }

    private static Map<String, Tensor> gInputs(double lr) {
        return Map.of(Dcgan.Z, z(), Dcgan.LABELS, Digits.oneHot(0, N).as(DType.F64), Dcgan.G_LR, Tensor.scalar(DType.F64, lr));
    }

    @Test
    void theDStepFollowsTheDiscriminatorLossGradient() {
        check(GAN.discriminatorStepPlan(N, TrainSpec.of(new Optimizer.Sgd())), true);
    }

    @Test
    void theGStepFollowsTheGeneratorLossGradient() {
        check(GAN.generatorStepPlan(N, TrainSpec.of(new Optimizer.Sgd())), false);
    }

    private static void check(Plan plan, boolean dStep) {
        try (Session s = Session.open(plan)) {
            Map<String, double[]> start = new HashMap<>();
            s.persistent().forEach((k, v) -> start.put(k, v.toDoubleArray()));
            s.run(dStep ? dInputs(LR) : gInputs(LR));
            Map<String, double[]> stepped = new HashMap<>();      // read before loss() resets the session
            s.persistent().forEach((k, v) -> stepped.put(k, v.toDoubleArray()));
            int checked = 0;
            for (Value p : plan.graph().params()) {
                boolean trained = dStep ? Dcgan.isDiscriminator(p.name()) : Dcgan.isGenerator(p.name());
                double[] before = start.get(p.name()), after = stepped.get(p.name());
                if (!trained) {
                    assertTrue(java.util.Arrays.equals(before, after), p.name() + " is frozen in this plan");
                    continue;
                }
                int size = before.length;
                for (int i : new int[] {0, size / 2, size - 1}) {
                    double analytic = (before[i] - after[i]) / LR;
                    double numeric = (loss(s, start, p.name(), i, H, dStep) - loss(s, start, p.name(), i, -H, dStep)) / (2 * H);
                    assertEquals(numeric, analytic, 1e-6 + 1e-4 * Math.abs(numeric), p.name() + "[" + i + "]");
                    checked++;
                }
            }
            assertTrue(checked >= 3 * 5, "checked " + checked);
        }
    }

    /** The plan's loss with every tensor reset to {@code start} and element i of {@code param} moved by h. */
    private static double loss(Session s, Map<String, double[]> start, String param, int i, double h, boolean dStep) {
        start.forEach((k, v) -> {
            double[] x = v.clone();
            if (k.equals(param)) x[i] += h;
            s.set(k, Tensor.of(s.get(k).shape(), x));
        });
        return s.run(dStep ? dInputs(0) : gInputs(0)).get(Dcgan.LOSS).item();
    }
}
