package dev.stride.zoo.generative;

import dev.stride.engine.Session;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Node;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.BceWithLogits;
import dev.stride.graph.op.Dropout;
import dev.stride.graph.op.GaussianNoise;
import dev.stride.graph.op.MseLoss;
import dev.stride.graph.op.Reparameterize;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AutoencoderTest {
    private static final Autoencoder.Config SMALL = Autoencoder.Config.plain().withSizes(64, 16);

    private static boolean random(Node n) {
        return n.op() instanceof GaussianNoise || n.op() instanceof Dropout || n.op() instanceof Reparameterize;
    }

    @Test
    void plansHaveTheDocumentedShapes() {
        for (Autoencoder.Loss loss : Autoencoder.Loss.values()) {
            var ae = new Autoencoder(Autoencoder.Config.plain().withLoss(loss));
            Plan train = ae.trainingPlan(4), rec = ae.reconstructionPlan(5);
            for (String s : new String[] {Autoencoder.LOSS, Autoencoder.RECON, Autoencoder.PENALTY})
                assertEquals(Shape.SCALAR, train.graph().outputs().get(s).shape());
            assertEquals(Shape.of(4, 32), train.graph().outputs().get(Autoencoder.CODE).shape());
            assertEquals(Shape.of(5, 1, 28, 28), rec.graph().outputs().get(Autoencoder.RECONSTRUCTION).shape());
            assertEquals(Shape.of(5, 32), rec.graph().outputs().get(Autoencoder.CODE).shape());
            Class<?> lossOp = loss == Autoencoder.Loss.BCE ? BceWithLogits.class : MseLoss.class;
            assertTrue(train.scheduledNodes().stream().anyMatch(n -> lossOp.isInstance(n.op())), loss + " loss node");
        }
    }

    @Test
    void trainingLowersTheReconstructionLoss() {
        var ae = new Autoencoder(SMALL);
        try (Session t = Session.open(ae.trainingPlan(16))) {
            double first = 0, last = 0;
            for (int step = 0; step < 24; step++) {
                double loss = t.run(Map.of(Autoencoder.IMAGES, Digits.batch(16 * (step % 4), 16),
                        Autoencoder.LR, Digits.lr(2e-3))).get(Autoencoder.LOSS).item();
                if (step < 4) first += loss / 4;
                if (step >= 20) last += loss / 4;
            }
            assertTrue(last < 0.8 * first, "BCE " + first + " -> " + last);
        }
    }

    @Test
    void denoisingCorruptsOnlyInTrainingGraphsAndTargetsTheCleanImage() {
        for (var corruption : new Autoencoder.Corruption[] {Autoencoder.Corruption.GAUSSIAN, Autoencoder.Corruption.MASK}) {
            var ae = new Autoencoder(SMALL.withCorruption(corruption, 0.3));
            Plan train = ae.trainingPlan(8), rec = ae.reconstructionPlan(8);
            Class<?> noise = corruption == Autoencoder.Corruption.GAUSSIAN ? GaussianNoise.class : Dropout.class;
            assertTrue(train.scheduledNodes().stream().anyMatch(n -> noise.isInstance(n.op())), corruption + " in training");
            assertFalse(rec.graph().nodes().stream().anyMatch(AutoencoderTest::random), corruption + " in inference");

            // The loss's target is the images input itself (flattened), not the corrupted copy.
            Node lossNode = train.scheduledNodes().stream().filter(n -> n.op() instanceof BceWithLogits).findFirst().orElseThrow();
            Value target = lossNode.inputs().get(1);
            Node flatten = train.graph().producer(target);
            assertEquals(train.graph().value(Autoencoder.IMAGES), flatten.inputs().getFirst());

            try (Session t = Session.open(train); Session r = Session.open(rec)) {
                Tensor x = Digits.batch(0, 8);
                t.run(Map.of(Autoencoder.IMAGES, x, Autoencoder.LR, Digits.lr(1e-3)));
                r.copyPersistentFrom(t);
                float[] a = Digits.floats(r.run(Map.of(Autoencoder.IMAGES, x)), Autoencoder.RECONSTRUCTION);
                float[] b = Digits.floats(r.run(Map.of(Autoencoder.IMAGES, x)), Autoencoder.RECONSTRUCTION);
                assertArrayEquals(a, b, corruption + ": inference must be deterministic");
                for (float v : a) assertTrue(v >= 0 && v <= 1);
            }
        }
    }

    /** The corruption on its own, on a constant image: its statistics are the documented ones. */
    @Test
    void corruptionHasTheDocumentedStatistics() {
        int n = 20, size = n * 784;
        float[] half = new float[size];
        Arrays.fill(half, 0.5f);
        Tensor x = Tensor.of(Shape.of(n, 1, 28, 28), half);

        float[] masked = corrupted(new Autoencoder(SMALL.withCorruption(Autoencoder.Corruption.MASK, 0.3)), x);
        int zeros = 0;
        for (float v : masked) {
            if (v == 0) zeros++;
            else assertEquals(0.5f, v, 1e-6f, "a surviving pixel keeps its value");
        }
        assertEquals(0.3, zeros / (double) size, 0.03, "masked fraction");

        float[] noisy = corrupted(new Autoencoder(SMALL.withCorruption(Autoencoder.Corruption.GAUSSIAN, 0.3)), x);
        double mean = 0, sq = 0;
        for (float v : noisy) {
            mean += (v - 0.5) / size;
            sq += (v - 0.5) * (v - 0.5) / size;
        }
        assertEquals(0, mean, 0.02);
        assertEquals(0.3, Math.sqrt(sq - mean * mean), 0.02, "noise standard deviation");

        assertThrows(IllegalArgumentException.class, () -> SMALL.withCorruption(Autoencoder.Corruption.MASK, 1));
    }

    private static float[] corrupted(Autoencoder ae, Tensor x) {
        var b = new GraphBuilder(DType.F32, true);
        Value in = b.input("x", x.shape());
        b.output("y", ae.corrupt(b, in));
        try (Session s = Session.open(Compiler.compile(b.build()))) {
            float[] y1 = s.run(Map.of("x", x)).get("y").toFloatArray();
            assertNotEquals(Arrays.hashCode(y1), Arrays.hashCode(s.run(Map.of("x", x)).get("y").toFloatArray()),
                    "fresh noise on every run");
            return y1;
        }
    }

    @Test
    void anL1PenaltyShrinksTheCode() {
        // A weight small enough that the code stays alive (0.5 silences every unit): about 0.34 -> 0.23.
        double plain = meanAbsCode(0), sparse = meanAbsCode(0.05);
        assertTrue(sparse < 0.8 * plain && sparse > 0.02,
                "mean |code| with lambda 0: " + plain + ", with lambda 0.05: " + sparse);
    }

    /** Mean |code| over the 64 images after 24 steps with L1 weight lambda; the same seed and data every time. */
    private static double meanAbsCode(double lambda) {
        var ae = new Autoencoder(SMALL.withSparsity(lambda));
        try (Session t = Session.open(ae.trainingPlan(16)); Session r = Session.open(ae.reconstructionPlan(64))) {
            for (int step = 0; step < 24; step++) {
                var o = t.run(Map.of(Autoencoder.IMAGES, Digits.batch(16 * (step % 4), 16), Autoencoder.LR, Digits.lr(2e-3)));
                double recon = o.get(Autoencoder.RECON).item(), penalty = o.get(Autoencoder.PENALTY).item();
                double code = Digits.mean(Digits.floats(o, Autoencoder.CODE));
                assertEquals(lambda * code, penalty, 1e-5 + 1e-4 * penalty, "penalty = lambda * mean |code| (ReLU code)");
                assertEquals(recon + (lambda > 0 ? penalty : 0), o.get(Autoencoder.LOSS).item(), 1e-5);
            }
            r.copyPersistentFrom(t);
            float[] code = Digits.floats(r.run(Map.of(Autoencoder.IMAGES, Digits.batch(0, 64))), Autoencoder.CODE);
            double s = 0;
            for (float v : code) s += Math.abs(v);
            return s / code.length;
        }
    }
}
