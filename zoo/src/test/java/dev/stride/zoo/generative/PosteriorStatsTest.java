package dev.stride.zoo.generative;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PosteriorStatsTest {
    /**
     * Four images, three latent dimensions, worked by hand: dimension 0 varies (mu 1, 3, 5, 7: mean 4, population
     * variance (9+1+1+9)/4 = 5), dimension 1 has collapsed to the prior (mu 0, logvar 0: sigma^2 1), dimension 2 is
     * nearly constant (mu 0.5 +- 0.05: variance 0.0025, under the 0.01 threshold) with sigma^2 e^-2 and e^-4.
     */
    @Test
    void perDimensionMomentsAndActiveUnitsByHand() {
        float[] mu = {1, 0, 0.45f, 3, 0, 0.55f, 5, 0, 0.45f, 7, 0, 0.55f};
        float[] logvar = {-2, 0, -2, -2, 0, -4, -2, 0, -2, -2, 0, -4};
        PosteriorStats s = PosteriorStats.of(mu, logvar, 4, 3);
        assertEquals(4, s.samples());
        assertArrayEquals(new double[] {4, 0, 0.5}, s.meanMu(), 1e-7);
        assertArrayEquals(new double[] {5, 0, 0.0025}, s.varMu(), 1e-7);
        double e2 = Math.exp(-2), e4 = Math.exp(-4);
        assertArrayEquals(new double[] {e2, 1, (e2 + e4) / 2}, s.meanSigma2(), 1e-7);
        assertEquals(5 + e2, s.aggregateVariance(0), 1e-7);
        assertEquals(1, s.aggregateVariance(1), 1e-12);
        assertTrue(s.active(0));
        assertFalse(s.active(1));
        assertFalse(s.active(2));
        assertEquals(1, s.activeUnits());
        String table = s.table();
        assertTrue(table.contains("active units (Var[mu] > 0.01): 1 of 3; over 4 images"), table);
        assertEquals(2, table.split("inactive", -1).length - 1, table);
    }

    /** A large offset does not cancel the variance away (two passes, in double). */
    @Test
    void varianceSurvivesALargeMean() {
        float[] mu = {1000.5f, 1001.5f}, logvar = {0, 0};
        assertEquals(0.25, PosteriorStats.of(mu, logvar, 2, 1).varMu()[0], 1e-9);
        assertThrows(IllegalArgumentException.class, () -> PosteriorStats.of(mu, logvar, 3, 1));
    }
}
