package dev.stride.zoo.generative;

import dev.stride.engine.Session;
import dev.stride.engine.Tensor;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DcganTest {
    /** Narrow networks: the tests are about wiring, not image quality. */
    static final Dcgan SMALL = new Dcgan(Dcgan.Config.defaults().withNz(8).withWidths(8, 8));
    static final Dcgan CONDITIONAL = new Dcgan(Dcgan.Config.defaults().withNz(8).withWidths(8, 8).withClasses(10));
    static final int N = 8;

    private static Shape out(Plan p, String name) { return p.graph().outputs().get(name).shape(); }

    private static Shape in(Plan p, String name) { return p.graph().value(name).shape(); }

    static Tensor z(int n, int nz, long seed) {
        float[] z = new float[n * nz];
        GanTrainer.gaussian(z, seed);
        return Tensor.of(Shape.of(n, nz, 1, 1), z);
    }

    /** The real batch in [-1, 1]. */
    static Tensor real(int from, int n) {
        float[] x = Digits.batch(from, n).toFloatArray();
        for (int i = 0; i < x.length; i++) x[i] = 2 * x[i] - 1;
        return Tensor.of(Shape.of(n, 1, 28, 28), x);
    }

    private static Set<String> names(Plan p, boolean params) {
        return (params ? p.graph().params() : p.graph().states()).stream().map(Value::name).collect(Collectors.toSet());
    }

    @Test
    void everyPlanHasTheDocumentedShapes() {
        for (Dcgan gan : new Dcgan[] {new Dcgan(Dcgan.Config.defaults()), new Dcgan(Dcgan.Config.defaults().withClasses(10))}) {
            Plan d = gan.discriminatorStepPlan(4), g = gan.generatorStepPlan(4), gen = gan.generatorPlan(3),
                    disc = gan.discriminatorPlan(5);
            assertEquals(Shape.of(4, 1, 28, 28), in(d, Dcgan.REAL));
            assertEquals(Shape.of(4, 100, 1, 1), in(d, Dcgan.Z));
            assertEquals(Shape.of(4, 100, 1, 1), in(g, Dcgan.Z));
            assertEquals(Shape.SCALAR, in(d, Dcgan.D_LR));
            assertEquals(Shape.SCALAR, in(g, Dcgan.G_LR));
            assertEquals(Shape.SCALAR, out(d, Dcgan.LOSS));
            assertEquals(Shape.of(4), out(d, Dcgan.REAL_LOGITS));
            assertEquals(Shape.of(4), out(d, Dcgan.FAKE_LOGITS));
            assertEquals(Shape.SCALAR, out(g, Dcgan.LOSS));
            assertEquals(Shape.of(4), out(g, Dcgan.FAKE_LOGITS));
            assertEquals(Shape.of(3, 1, 28, 28), out(gen, Dcgan.IMAGES));
            assertEquals(Shape.of(5), out(disc, Dcgan.LOGITS));
            int c = gan.config().classes();
            if (c > 0) {
                for (Plan p : List.of(d, g)) assertEquals(Shape.of(4, 10), in(p, Dcgan.LABELS));
                assertEquals(Shape.of(3, 10), in(gen, Dcgan.LABELS));
            } else {
                for (Plan p : List.of(d, g, gen, disc)) assertFalse(p.graph().has(Dcgan.LABELS));
            }
            // The architecture of the brief: nz(+classes) -> 128 (7x7) -> 64 (14x14) -> 1; D 1(+classes) -> 64 -> 128 -> 1.
            assertEquals(Shape.of(100 + c, 128, 7, 7), in(g, "gen/deconv1/weight"));
            assertEquals(Shape.of(128, 64, 4, 4), in(g, "gen/deconv2/weight"));
            assertEquals(Shape.of(64, 1, 4, 4), in(g, "gen/deconv3/weight"));
            assertEquals(Shape.of(64, 1 + c, 4, 4), in(d, "disc/conv1/weight"));
            assertEquals(Shape.of(128, 64, 4, 4), in(d, "disc/conv2/weight"));
            assertEquals(Shape.of(1, 128, 7, 7), in(d, "disc/conv3/weight"));
            // Both training plans hold both networks, under the same names and shapes.
            assertEquals(names(d, true), names(g, true));
            assertEquals(names(gen, true), names(d, true).stream().filter(Dcgan::isGenerator).collect(Collectors.toSet()));
            assertEquals(names(disc, true), names(d, true).stream().filter(Dcgan::isDiscriminator).collect(Collectors.toSet()));
        }
    }

    @Test
    void eachPlanOwnsItsOptimizerState() {
        Plan d = SMALL.discriminatorStepPlan(N), g = SMALL.generatorStepPlan(N);
        Set<String> dStates = names(d, false), gStates = names(g, false);
        Set<String> shared = new HashSet<>(dStates);
        shared.retainAll(gStates);
        // The only state in both plans is the discriminator's running statistics.
        assertEquals(Set.of("disc/bn2/running_mean", "disc/bn2/running_var"), shared);
        for (String s : dStates) assertTrue(s.startsWith("d_opt/") || s.startsWith("disc/bn2/running_"), s);
        for (String s : gStates) assertTrue(s.startsWith("g_opt/") || s.contains("/running_"), s);
        // Moments for exactly the trained network's parameters, and a step count each.
        for (String p : names(d, true)) {
            assertEquals(Dcgan.isDiscriminator(p), dStates.contains("d_opt/" + p + "/exp_avg"), p);
            assertEquals(Dcgan.isDiscriminator(p), dStates.contains("d_opt/" + p + "/exp_avg_sq"), p);
            assertEquals(Dcgan.isGenerator(p), gStates.contains("g_opt/" + p + "/exp_avg"), p);
        }
        assertTrue(dStates.contains("d_opt/adam/t") && gStates.contains("g_opt/adam/t"));
        // The generator's running statistics are not in the D step (its G runs on batch statistics, untracked).
        assertTrue(dStates.stream().noneMatch(s -> s.startsWith("gen/")));
        assertTrue(gStates.containsAll(Set.of("gen/bn1/running_mean", "gen/bn1/running_var", "gen/bn2/running_mean")));
    }

    @Test
    void aDStepChangesOnlyDAndAGStepOnlyG() {
        try (Session d = Session.open(SMALL.discriminatorStepPlan(N)); Session g = Session.open(SMALL.generatorStepPlan(N))) {
            g.copyPersistentFrom(d);
            Tensor z = z(N, 8, 1);
            Map<String, float[]> before = Digits.values(d);
            d.run(Map.of(Dcgan.REAL, real(0, N), Dcgan.Z, z, Dcgan.D_LR, Digits.lr(2e-4)));
            Map<String, float[]> after = Digits.values(d);
            for (Value p : d.plan().graph().params()) {
                boolean same = Arrays.equals(before.get(p.name()), after.get(p.name()));
                assertEquals(Dcgan.isGenerator(p.name()), same, p.name() + (same ? " unchanged" : " changed"));
            }
            assertEquals(1.0, d.get("d_opt/adam/t").item());

            // Sync: G takes D's new discriminator; G's own optimizer state is untouched by the copy.
            int copied = g.copyPersistentFrom(d);
            assertEquals(d.plan().graph().params().size() + 2, copied, "every parameter and D's running statistics");
            assertEquals(0.0, g.get("g_opt/adam/t").item());
            Map<String, float[]> gBefore = Digits.values(g);
            for (Value p : d.plan().graph().params()) assertArrayEquals(after.get(p.name()), gBefore.get(p.name()), p.name());

            g.run(Map.of(Dcgan.Z, z, Dcgan.G_LR, Digits.lr(2e-4)));
            Map<String, float[]> gAfter = Digits.values(g);
            for (Value p : g.plan().graph().params()) {
                boolean same = Arrays.equals(gBefore.get(p.name()), gAfter.get(p.name()));
                assertEquals(Dcgan.isDiscriminator(p.name()), same, p.name() + (same ? " unchanged" : " changed"));
            }
            for (String s : List.of("gen/bn1/running_mean", "disc/bn2/running_var"))  // both networks ran in training mode
                assertFalse(Arrays.equals(gBefore.get(s), gAfter.get(s)), s + " advanced");
            assertEquals(1.0, g.get("g_opt/adam/t").item());

            // Back to D: new generator, D's optimizer state as it was.
            Map<String, float[]> dOpt = new HashMap<>(Digits.values(d));
            d.copyPersistentFrom(g);
            Map<String, float[]> dNow = Digits.values(d);
            for (var e : dNow.entrySet()) {
                if (e.getKey().startsWith("d_opt/")) assertArrayEquals(dOpt.get(e.getKey()), e.getValue(), e.getKey());
                else assertArrayEquals(gAfter.get(e.getKey()), e.getValue(), e.getKey());
            }
        }
    }

    @Test
    void theGStepSeesTheFakesOfTheDStepBeforeIt() {
        try (Session d = Session.open(SMALL.discriminatorStepPlan(N)); Session g = Session.open(SMALL.generatorStepPlan(N))) {
            Tensor z = z(N, 8, 3);
            var dOut = d.run(Map.of(Dcgan.REAL, real(0, N), Dcgan.Z, z, Dcgan.D_LR, Digits.lr(0)));
            // With lr 0 the D step changes nothing but running statistics, which training-mode batch norm ignores,
            // so the G step's discriminator logits on G(z) are the D step's fake logits.
            g.copyPersistentFrom(d);
            var gOut = g.run(Map.of(Dcgan.Z, z, Dcgan.G_LR, Digits.lr(0)));
            assertArrayEquals(Digits.floats(dOut, Dcgan.FAKE_LOGITS), Digits.floats(gOut, Dcgan.FAKE_LOGITS), 1e-5f);
        }
    }

    @Test
    void dOnlyStepsTeachTheDiscriminatorRealFromFake() {
        try (Session d = Session.open(SMALL.discriminatorStepPlan(16))) {
            double firstLoss = Double.NaN;
            Map<String, Tensor> o = null;
            for (int step = 0; step <= 15; step++) {
                o = d.run(Map.of(Dcgan.REAL, real(16 * (step % 4), 16), Dcgan.Z, z(16, 8, 100 + step),
                        Dcgan.D_LR, Digits.lr(2e-3)));
                if (step == 0) firstLoss = o.get(Dcgan.LOSS).item();
            }
            // Outputs of the last run come from the weights after 15 D steps.
            double real = Digits.mean(Digits.floats(o, Dcgan.REAL_LOGITS)), fake = Digits.mean(Digits.floats(o, Dcgan.FAKE_LOGITS));
            double loss = o.get(Dcgan.LOSS).item();
            assertTrue(real > fake, "mean D logit on real " + real + ", on fake " + fake);
            assertTrue(real > 0 && fake < 0, "real " + real + ", fake " + fake);
            assertTrue(loss < firstLoss, "D loss " + firstLoss + " -> " + loss);
        }
    }

    @Test
    void theConditionalGeneratorFollowsItsLabels() {
        Plan gen = CONDITIONAL.generatorPlan(4);
        assertEquals(Shape.of(4, 1, 28, 28), out(gen, Dcgan.IMAGES));
        try (Session s = Session.open(gen)) {
            float[] one = new float[8];
            GanTrainer.gaussian(one, 5);
            float[] z = new float[4 * 8];
            for (int i = 0; i < 4; i++) System.arraycopy(one, 0, z, i * 8, 8);   // the same z four times
            float[] hot = new float[4 * 10];
            int[] labels = {3, 3, 7, 0};
            for (int i = 0; i < 4; i++) hot[i * 10 + labels[i]] = 1;
            float[] img = s.run(Map.of(Dcgan.Z, Tensor.of(Shape.of(4, 8, 1, 1), z), Dcgan.LABELS,
                    Tensor.of(Shape.of(4, 10), hot))).get(Dcgan.IMAGES).toFloatArray();
            for (float v : img) assertTrue(v >= -1 && v <= 1);
            assertEquals(0, maxDiff(img, 0, 1), "same z, same label: same image");
            assertTrue(maxDiff(img, 1, 2) > 1e-3, "labels 3 and 7 give the same image");
            assertTrue(maxDiff(img, 2, 3) > 1e-3, "labels 7 and 0 give the same image");
        }
    }

    /** Running statistics make each image a function of its own z; batch statistics make it depend on the batch. */
    @Test
    void generatorPlansUseRunningOrBatchStatistics() {
        Tensor z1 = z(4, 8, 21);
        float[] changed = z1.toFloatArray().clone();
        for (int k = 3 * 8; k < 4 * 8; k++) changed[k] += 3;                 // only the last image's z moves
        Tensor z2 = Tensor.of(z1.shape(), changed);
        for (boolean batchStats : new boolean[] {false, true}) {
            Plan p = SMALL.generatorPlan(4, batchStats);
            assertEquals(batchStats, p.graph().training());
            assertTrue(p.graph().updates().isEmpty(), "sampling never updates running statistics");
            try (Session s = Session.open(p)) {
                float[] a = s.run(Map.of(Dcgan.Z, z1)).get(Dcgan.IMAGES).toFloatArray();
                float[] b = s.run(Map.of(Dcgan.Z, z2)).get(Dcgan.IMAGES).toFloatArray();
                float[] firstA = Arrays.copyOf(a, 3 * 784), firstB = Arrays.copyOf(b, 3 * 784);
                assertEquals(!batchStats, Arrays.equals(firstA, firstB), "batch statistics " + batchStats);
            }
        }
    }

    private static double maxDiff(float[] img, int a, int b) {
        double m = 0;
        for (int p = 0; p < 784; p++) m = Math.max(m, Math.abs(img[a * 784 + p] - img[b * 784 + p]));
        return m;
    }

    @Test
    void conditionalTrainingPlansRun() {
        try (Session d = Session.open(CONDITIONAL.discriminatorStepPlan(N)); Session g = Session.open(CONDITIONAL.generatorStepPlan(N))) {
            Tensor z = z(N, 8, 9), labels = Digits.oneHot(0, N);
            double dl = d.run(Map.of(Dcgan.REAL, real(0, N), Dcgan.Z, z, Dcgan.LABELS, labels, Dcgan.D_LR, Digits.lr(2e-4)))
                    .get(Dcgan.LOSS).item();
            g.copyPersistentFrom(d);
            double gl = g.run(Map.of(Dcgan.Z, z, Dcgan.LABELS, labels, Dcgan.G_LR, Digits.lr(2e-4))).get(Dcgan.LOSS).item();
            // At initialisation D is near chance: each BCE term is near ln 2.
            assertTrue(Double.isFinite(dl) && dl > 0.3 && dl < 5, "D loss " + dl);
            assertTrue(Double.isFinite(gl) && gl > 0.05 && gl < 5, "G loss " + gl);
        }
    }
}
