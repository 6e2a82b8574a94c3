package dev.stride.zoo.generative;

import dev.stride.engine.Session;
import dev.stride.engine.Tensor;
import dev.stride.graph.Graph;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The 64x64 geometry of {@link Dcgan}: the paper's (and PyTorch's DCGAN example's) networks. */
class Dcgan64Test {
    private static long params(Plan p, boolean generator) {
        long n = 0;
        for (Value v : p.graph().params()) if (Dcgan.isGenerator(v.name()) == generator) n += v.shape().size();
        return n;
    }

    @Test
    void shapesAndParameterCountsArePyTorchs() {
        Dcgan gan = new Dcgan(Dcgan.Config.dcgan64());
        Plan d = gan.discriminatorStepPlan(2), g = gan.generatorPlan(1);
        assertEquals(Shape.of(2, 3, 64, 64), d.graph().value(Dcgan.REAL).shape());
        assertEquals(Shape.of(1, 3, 64, 64), g.graph().outputs().get(Dcgan.IMAGES).shape());
        // PyTorch's DCGAN example (nz 100, ngf = ndf = 64, nc 3): G 3,576,704 and D 2,765,568 parameters.
        assertEquals(3_576_704, params(d, true));
        assertEquals(2_765_568, params(d, false));
        Graph dg = d.graph();
        assertEquals(Shape.of(100, 512, 4, 4), dg.value("gen/deconv1/weight").shape());
        assertEquals(Shape.of(64, 3, 4, 4), dg.value("gen/deconv5/weight").shape());
        assertEquals(Shape.of(512, 256, 4, 4), dg.value("disc/conv4/weight").shape());
        assertEquals(Shape.of(1, 512, 4, 4), dg.value("disc/conv5/weight").shape());
        // Spatial sizes 4, 8, 16, 32, 64 in G and 32, 16, 8, 4, 1 in D.
        int side = 4;
        for (int i = 1; i <= 5; i++, side *= 2)
            assertEquals(side, g.graph().value("gen/deconv" + i).shape().dim(2), "deconv" + i);
        side = 32;
        for (int i = 1; i <= 4; i++, side /= 2)
            assertEquals(side, dg.value("disc/conv" + i).shape().dim(2), "conv" + i);
        assertEquals(Shape.of(2, 1, 1, 1), dg.value("disc/conv5").shape());
    }

    @Test
    void grayscaleAndConditionalVariantsBuild() {
        Dcgan gray = new Dcgan(Dcgan.Config.dcgan64().withImages(64, 1).withClasses(10));
        Plan d = gray.discriminatorStepPlan(2);
        assertEquals(Shape.of(2, 1, 64, 64), d.graph().value(Dcgan.REAL).shape());
        assertEquals(Shape.of(64, 1 + 10, 4, 4), d.graph().value("disc/conv1/weight").shape());
        assertEquals(Shape.of(2, 1, 64, 64), gray.generatorPlan(2).graph().outputs().get(Dcgan.IMAGES).shape());
        assertThrows(IllegalArgumentException.class, () -> Dcgan.Config.dcgan64().withImages(32, 3));
    }

    /** A narrow 64x64 GAN: one D step trains only D, one G step only G, with finite losses. */
    @Test
    void oneDStepAndOneGStepRun() {
        Dcgan gan = new Dcgan(Dcgan.Config.dcgan64().withNz(8).withWidths(4, 4));
        int n = 2;
        SplittableRandom rnd = new SplittableRandom(3);
        float[] real = new float[n * 3 * 64 * 64];
        for (int i = 0; i < real.length; i++) real[i] = (float) (rnd.nextDouble() * 2 - 1);
        Tensor z = DcganTest.z(n, 8, 1);
        try (Session d = Session.open(gan.discriminatorStepPlan(n)); Session g = Session.open(gan.generatorStepPlan(n))) {
            g.copyPersistentFrom(d);
            Map<String, float[]> before = Digits.values(d);
            var dOut = d.run(Map.of(Dcgan.REAL, Tensor.of(Shape.of(n, 3, 64, 64), real), Dcgan.Z, z,
                    Dcgan.D_LR, Digits.lr(2e-4)));
            assertTrue(Double.isFinite(dOut.get(Dcgan.LOSS).item()));
            Map<String, float[]> after = Digits.values(d);
            for (Value p : d.plan().graph().params())
                assertEquals(Dcgan.isGenerator(p.name()), Arrays.equals(before.get(p.name()), after.get(p.name())), p.name());
            g.copyPersistentFrom(d);
            Map<String, float[]> gBefore = Digits.values(g);
            var gOut = g.run(Map.of(Dcgan.Z, z, Dcgan.G_LR, Digits.lr(2e-4)));
            assertTrue(Double.isFinite(gOut.get(Dcgan.LOSS).item()));
            Map<String, float[]> gAfter = Digits.values(g);
            for (Value p : g.plan().graph().params())
                assertEquals(Dcgan.isDiscriminator(p.name()), Arrays.equals(gBefore.get(p.name()), gAfter.get(p.name())),
                        p.name());
        }
    }
}
