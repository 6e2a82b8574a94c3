package dev.stride.zoo.generative;

import dev.stride.engine.Session;
import dev.stride.engine.Tensor;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.op.Reparameterize;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConvVaeTest {
    /** Narrower than the default 32/64 so that 30 steps on the scalar reference backend take a few seconds. */
    static final ConvVae SMALL = new ConvVae(ConvVae.Config.defaults().withWidths(8, 16).withLatent(8));

    private static Shape out(Plan p, String name) { return p.graph().outputs().get(name).shape(); }

    @Test
    void everyPlanHasTheDocumentedShapes() {
        ConvVae vae = new ConvVae();                                          // the default architecture
        Plan train = vae.trainingPlan(3), eval = vae.evaluationPlan(3), rec = vae.reconstructionPlan(3),
                sample = vae.samplingPlan(5);
        for (Plan p : new Plan[] {train, eval}) {
            assertEquals(Shape.SCALAR, out(p, ConvVae.LOSS));
            assertEquals(Shape.SCALAR, out(p, ConvVae.RECON));
            assertEquals(Shape.SCALAR, out(p, ConvVae.KL));
        }
        assertEquals(Shape.of(3, 1, 28, 28), out(rec, ConvVae.RECONSTRUCTION));
        assertEquals(Shape.of(3, 16), out(rec, ConvVae.MU));
        assertEquals(Shape.of(3, 16), out(rec, ConvVae.LOGVAR));
        assertEquals(Shape.of(5, 16), sample.graph().value(ConvVae.Z).shape());
        assertEquals(Shape.of(5, 1, 28, 28), out(sample, ConvVae.SAMPLES));
        // The architecture of the brief: conv 1->32 and 32->64, 4x4; dense 3136 -> 16; decoder mirrors it.
        assertEquals(Shape.of(32, 1, 4, 4), train.graph().value("enc/conv1/weight").shape());
        assertEquals(Shape.of(64, 32, 4, 4), train.graph().value("enc/conv2/weight").shape());
        assertEquals(Shape.of(16, 64 * 7 * 7), train.graph().value("enc/mu/weight").shape());
        assertEquals(Shape.of(16, 64 * 7 * 7), train.graph().value("enc/logvar/weight").shape());
        assertEquals(Shape.of(64 * 7 * 7, 16), train.graph().value("dec/fc/weight").shape());
        assertEquals(Shape.of(64, 32, 4, 4), train.graph().value("dec/deconv1/weight").shape());
        assertEquals(Shape.of(32, 1, 4, 4), train.graph().value("dec/deconv2/weight").shape());
        // Every parameter the sampler and the reconstructor use is one the training plan trains.
        for (Plan p : new Plan[] {eval, rec, sample})
            for (var v : p.graph().params()) assertTrue(train.graph().has(v.name()), v.name());
    }

    @Test
    void negativeElboFallsWhileKlStaysFiniteAndNonNegative() {
        Plan train = SMALL.trainingPlan(16), eval = SMALL.evaluationPlan(16);
        try (Session t = Session.open(train); Session e = Session.open(eval)) {
            e.copyPersistentFrom(t);
            double before = evaluate(e);
            double first = Double.NaN, last = Double.NaN;
            for (int step = 0; step < 32; step++) {
                Map<String, Tensor> o = t.run(Map.of(ConvVae.IMAGES, Digits.batch(16 * (step % 4), 16),
                        ConvVae.LR, Digits.lr(3e-3)));
                double loss = o.get(ConvVae.LOSS).item(), recon = o.get(ConvVae.RECON).item(), kl = o.get(ConvVae.KL).item();
                assertTrue(Double.isFinite(kl) && kl >= 0, "KL " + kl + " at step " + step);
                assertTrue(recon > 0, "a Bernoulli NLL of soft targets is positive, got " + recon);
                assertEquals(recon + kl, loss, 1e-3 * Math.abs(loss));
                if (step < 4) first = step == 0 ? loss / 4 : first + loss / 4;   // mean of the first epoch
                if (step >= 28) last = step == 28 ? loss / 4 : last + loss / 4;  // and of the last
            }
            e.copyPersistentFrom(t);
            double after = evaluate(e);
            // At initialisation the decoder guesses ~0.5 per pixel: recon ~ 784 ln 2 = 543 nats.
            assertTrue(before > 400, "initial negative ELBO " + before);
            assertTrue(after < 0.75 * before, "negative ELBO " + before + " -> " + after);
            assertTrue(last < 0.75 * first, "training loss " + first + " -> " + last);
        }
    }

    /** The evaluation plan's one-sample negative ELBO, averaged over the 64 images. */
    private static double evaluate(Session e) {
        double s = 0;
        for (int b = 0; b < 4; b++) s += e.run(Map.of(ConvVae.IMAGES, Digits.batch(16 * b, 16))).get(ConvVae.LOSS).item() / 4;
        return s;
    }

    @Test
    void evaluationSamplesButReconstructionAndSamplingAreDeterministicAndInTheUnitInterval() {
        Plan train = SMALL.trainingPlan(8), eval = SMALL.evaluationPlan(8), rec = SMALL.reconstructionPlan(8),
                sample = SMALL.samplingPlan(6);
        try (Session t = Session.open(train); Session e = Session.open(eval); Session r = Session.open(rec);
             Session s = Session.open(sample)) {
            for (int step = 0; step < 3; step++)
                t.run(Map.of(ConvVae.IMAGES, Digits.batch(8 * step, 8), ConvVae.LR, Digits.lr(1e-3)));
            int params = rec.graph().params().size();
            assertEquals(params, r.copyPersistentFrom(t));
            assertEquals(sample.graph().params().size(), s.copyPersistentFrom(t));
            e.copyPersistentFrom(t);

            // The evaluation plan draws eps: a one-sample estimate, different on each run.
            Tensor x = Digits.batch(0, 8);
            assertTrue(eval.scheduledNodes().stream().anyMatch(n -> n.op() instanceof Reparameterize));
            assertNotEquals(e.run(Map.of(ConvVae.IMAGES, x)).get(ConvVae.LOSS).item(),
                    e.run(Map.of(ConvVae.IMAGES, x)).get(ConvVae.LOSS).item());

            float[] r1 = Digits.floats(r.run(Map.of(ConvVae.IMAGES, x)), ConvVae.RECONSTRUCTION);
            float[] r2 = Digits.floats(r.run(Map.of(ConvVae.IMAGES, x)), ConvVae.RECONSTRUCTION);
            assertArrayEquals(r1, r2);
            assertEquals(8 * 784, r1.length);
            inUnitInterval(r1);

            float[] z = new float[6 * 8];
            GanTrainer.gaussian(z, 7);
            Tensor zt = Tensor.of(Shape.of(6, 8), z);
            Tensor samples = s.run(Map.of(ConvVae.Z, zt)).get(ConvVae.SAMPLES);
            assertEquals(Shape.of(6, 1, 28, 28), samples.shape());
            inUnitInterval(samples.toFloatArray());
            assertArrayEquals(samples.toFloatArray(), s.run(Map.of(ConvVae.Z, zt)).get(ConvVae.SAMPLES).toFloatArray());
        }
    }

    private static void inUnitInterval(float[] a) {
        for (float v : a) assertTrue(v >= 0 && v <= 1, "value " + v + " outside [0, 1]");
    }
}
