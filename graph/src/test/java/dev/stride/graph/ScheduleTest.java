package dev.stride.graph;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ScheduleTest {
    private static final double TOL = 1e-12;

    private static void rejects(String message, Supplier<?> make) {
        var e = assertThrows(IllegalArgumentException.class, make::get);
        assertTrue(e.getMessage().contains(message), () -> "expected '" + message + "' in: " + e.getMessage());
    }

    // ---------------------------------------------------------------- step and exponential decay

    @Test
    void stepDecayHalvesEveryThreeSteps() {
        var s = new Schedule.StepDecay(0.1, 3, 0.5);
        assertEquals(0.1, s.lr(0), TOL);
        assertEquals(0.1, s.lr(2), TOL);
        assertEquals(0.05, s.lr(3), TOL);
        assertEquals(0.05, s.lr(5), TOL);
        assertEquals(0.025, s.lr(6), TOL);
        assertEquals(0.0125, s.lr(10), TOL);
    }

    @Test
    void exponentialDecay() {
        var s = new Schedule.Exponential(0.2, 0.9);
        assertEquals(0.2, s.lr(0), TOL);
        assertEquals(0.18, s.lr(1), TOL);
        assertEquals(0.162, s.lr(2), TOL);
        assertEquals(0.118098, s.lr(5), TOL);      // 0.2 * 0.59049
    }

    @Property(tries = 30)
    void decaysNeverIncrease(@ForAll @IntRange(min = 1, max = 7) int stepSize, @ForAll @IntRange(min = 1, max = 99) int gammaPct) {
        double gamma = gammaPct / 100.0;
        List<Schedule> all = List.of(new Schedule.StepDecay(0.3, stepSize, gamma), new Schedule.Exponential(0.3, gamma));
        for (Schedule s : all) {
            for (long t = 0; t < 40; t++) assertTrue(s.lr(t + 1) <= s.lr(t), s + " rose at step " + t);
            assertTrue(s.lr(40) < s.lr(0), s + " never decayed");
        }
    }

    // ---------------------------------------------------------------- cosine with warm-up

    @Test
    void cosineWarmupRisesLinearlyThenFollowsHalfACosine() {
        var s = new Schedule.CosineWarmup(1.0, 4, 16, 0.1);
        assertEquals(0, s.lr(0), TOL);
        assertEquals(0.25, s.lr(1), TOL);
        assertEquals(0.5, s.lr(2), TOL);
        assertEquals(1.0, s.lr(4), TOL);                    // warm-up done: the base rate
        assertEquals(0.1 + 0.9 * 0.75, s.lr(8), TOL);       // a third of the way: (1 + cos(pi/3))/2 = 3/4
        assertEquals(0.55, s.lr(10), TOL);                  // halfway: (1 + cos(pi/2))/2 = 1/2
        assertEquals(0.1 + 0.9 * 0.25, s.lr(12), TOL);      // two thirds: (1 + cos(2pi/3))/2 = 1/4
        assertEquals(0.1, s.lr(16), TOL);
        assertEquals(0.1, s.lr(1000), TOL);
        // No warm-up: starts at the base.
        assertEquals(2.0, new Schedule.CosineWarmup(2.0, 0, 10, 0).lr(0), TOL);
    }

    @Property(tries = 30)
    void cosineWarmupRisesThenFalls(@ForAll @IntRange(min = 0, max = 10) int warmup, @ForAll @IntRange(min = 1, max = 30) int decay) {
        var s = new Schedule.CosineWarmup(0.5, warmup, warmup + decay, 0.01);
        for (long t = 0; t < warmup; t++) assertTrue(s.lr(t + 1) > s.lr(t), "warm-up must rise at " + t);
        for (long t = warmup; t < warmup + decay + 5; t++) assertTrue(s.lr(t + 1) <= s.lr(t), "decay must not rise at " + t);
        assertEquals(0.5, s.lr(warmup), TOL);
    }

    // ---------------------------------------------------------------- one-cycle

    @Test
    void oneCycleDefaultsStartPeakAndEndWherePyTorchPutsThem() {
        var s = new Schedule.OneCycle(1.0, 100);
        assertEquals(29, s.peakStep(), TOL);            // 0.3*100 - 1
        assertEquals(0.04, s.lr(0), TOL);                // maxLr / 25
        assertEquals(1.0, s.lr(29), TOL);
        assertEquals(4e-6, s.lr(99), 1e-18);             // maxLr / 25 / 1e4
        for (long t = 0; t < 29; t++) assertTrue(s.lr(t + 1) > s.lr(t), "rising at " + t);
        for (long t = 29; t < 99; t++) assertTrue(s.lr(t + 1) < s.lr(t), "falling at " + t);
        rejects("step 100 is past the cycle of totalSteps = 100", () -> s.lr(100));
    }

    @Test
    void oneCycleAnnealsEachPhaseAlongACosine() {
        // maxLr 2, initial 2/10 = 0.2, final 0.2/100 = 0.002; peak at 0.25*24 - 1 = 5, end at 23.
        var s = new Schedule.OneCycle(2.0, 24, 0.25, 10, 100);
        assertEquals(0.2, s.lr(0), TOL);
        assertEquals(2.0, s.lr(5), TOL);
        assertEquals((2.0 + 0.002) / 2, s.lr(14), TOL);    // halfway down: cos(pi/2) = 0
        assertEquals(0.002, s.lr(23), TOL);
        // A fractional peak (0.25*10 - 1 = 1.5): step 1 is 2/3 of the way up, (1 + cos(2pi/3))/2 = 1/4 of the rise left.
        var f = new Schedule.OneCycle(1.0, 10, 0.25, 25, 1e4);
        assertEquals(1.0 - 0.96 / 4, f.lr(1), TOL);
        assertTrue(f.lr(2) < 1.0 && f.lr(2) > f.lr(3));
    }

    // ---------------------------------------------------------------- validation

    @Test
    void invalidArgumentsAreRejectedNamingTheRule() {
        rejects("base learning rate must be finite and > 0, got 0.0", () -> new Schedule.StepDecay(0, 3, 0.5));
        rejects("stepSize must be >= 1, got 0", () -> new Schedule.StepDecay(0.1, 0, 0.5));
        rejects("gamma must be in (0, 1], got 1.5", () -> new Schedule.StepDecay(0.1, 2, 1.5));
        rejects("gamma must be in (0, 1], got 0.0", () -> new Schedule.Exponential(0.1, 0));
        rejects("base learning rate must be finite and > 0, got NaN", () -> new Schedule.Exponential(Double.NaN, 0.5));
        rejects("minLr must be in [0, base] = [0, 0.1], got 0.2", () -> new Schedule.CosineWarmup(0.1, 2, 10, 0.2));
        rejects("totalSteps must be > warmupSteps, got totalSteps 5 and warmupSteps 5", () -> new Schedule.CosineWarmup(0.1, 5, 5, 0));
        rejects("warmupSteps must be >= 0, got -1", () -> new Schedule.CosineWarmup(0.1, -1, 5, 0));
        rejects("pctStart must be in (0, 1), got 1.0", () -> new Schedule.OneCycle(0.1, 100, 1.0, 25, 1e4));
        rejects("totalSteps must be >= 2, got 1", () -> new Schedule.OneCycle(0.1, 1));
        rejects("pctStart*totalSteps - 1 = 0.1*10 - 1 = 0.0, must be > 0", () -> new Schedule.OneCycle(0.1, 10, 0.1, 25, 1e4));
        rejects("divFactor must be finite and > 0, got -25.0", () -> new Schedule.OneCycle(0.1, 100, 0.3, -25, 1e4));
        rejects("finalDivFactor must be finite and > 0, got 0.0", () -> new Schedule.OneCycle(0.1, 100, 0.3, 25, 0));
        rejects("maxLr must be finite and > 0, got Infinity", () -> new Schedule.OneCycle(Double.POSITIVE_INFINITY, 100));
        for (Schedule s : List.<Schedule>of(new Schedule.StepDecay(0.1, 2, 0.5), new Schedule.Exponential(0.1, 0.5),
                new Schedule.CosineWarmup(0.1, 2, 10, 0), new Schedule.OneCycle(0.1, 10)))
            rejects("step must be >= 0, got -1", () -> s.lr(-1));
    }

    // ---------------------------------------------------------------- learning-rate range test

    /** Gradient descent on f(w) = a/2 * |w|^2 scaled per coordinate: one step per call, returning the loss before it. */
    private static final class Quadratic {
        final double[] curvature, w;

        Quadratic(double... curvature) {
            this.curvature = curvature;
            this.w = new double[curvature.length];
            java.util.Arrays.fill(w, 1);
        }

        double step(double lr) {
            double loss = 0;
            for (int i = 0; i < w.length; i++) {
                loss += 0.5 * curvature[i] * w[i] * w[i];
                w[i] -= lr * curvature[i] * w[i];
            }
            return loss;
        }
    }

    @Test
    void rangeTestSuggestsAStableRateNearTheBestOneAndStopsOnDivergence() {
        for (double a : new double[] {1, 10, 100}) {
            // Gradient descent on a/2 w^2 converges fastest at lr = 1/a and diverges beyond lr = 2/a.
            var q = new Quadratic(a);
            var r = LrRangeTest.run(1e-4 / a, 1e3 / a, 100, q::step);
            double best = 1 / a, suggested = r.suggestedLr();
            assertTrue(suggested > best / 10 && suggested < 2 / a, "a = " + a + ": suggested " + suggested);
            assertTrue(r.diverged(), "a = " + a + " never diverged over " + r.points().size() + " points");
            var last = r.points().getLast();
            assertTrue(last.lr() > 2 / a, "stopped before the divergence threshold: " + last.lr());
            assertTrue(last.smoothedLoss() > LrRangeTest.DIVERGENCE * r.points().stream()
                    .mapToDouble(LrRangeTest.Point::smoothedLoss).min().orElseThrow());
            assertTrue(r.points().size() < 100);
        }
        // Several curvatures: the stiffest sets both the rate that is best for it (1/40) and the stable limit.
        var q = new Quadratic(2, 10, 40);
        double suggested = LrRangeTest.run(1e-5, 10, 120, q::step).suggestedLr();
        assertTrue(suggested > 1 / 400.0 && suggested < 2 / 40.0, "suggested " + suggested);
    }

    @Test
    void rangeTestRatesGrowGeometricallyAndTheAverageIsBiasCorrected() {
        var r = LrRangeTest.run(1e-3, 1e-1, 5, 0.5, 4, lr -> 2.0);      // a constant loss never diverges
        assertFalse(r.diverged());
        double[] expectLr = {1e-3, 1e-3 * Math.sqrt(10), 1e-2, 1e-2 * Math.sqrt(10), 1e-1};
        for (int i = 0; i < 5; i++) {
            assertEquals(expectLr[i], r.points().get(i).lr(), 1e-15);
            assertEquals(2.0, r.points().get(i).smoothedLoss(), TOL);   // bias correction: no pull toward 0
        }
        // Losses 4 then 0 with smoothing 0.5: averages 2 and 1, corrected by 1 - 0.5 and 1 - 0.25.
        var seq = new double[] {4, 0};
        int[] i = {0};
        var two = LrRangeTest.run(1, 2, 2, 0.5, 4, lr -> seq[i[0]++]);
        assertEquals(4.0, two.points().get(0).smoothedLoss(), TOL);
        assertEquals(1.0 / 0.75, two.points().get(1).smoothedLoss(), TOL);
        // A non-finite loss ends the test as diverged without recording it.
        var nan = LrRangeTest.run(1, 100, 10, lr -> lr > 5 ? Double.NaN : 1);
        assertTrue(nan.diverged());
        assertTrue(nan.points().stream().allMatch(p -> p.lr() <= 5));
    }

    @Test
    void rangeTestValidatesArguments() {
        rejects("minLr must be finite and > 0, got 0.0", () -> LrRangeTest.run(0, 1, 10, lr -> 1));
        rejects("maxLr must be finite and > minLr = 0.1, got 0.1", () -> LrRangeTest.run(0.1, 0.1, 10, lr -> 1));
        rejects("steps must be >= 2, got 1", () -> LrRangeTest.run(0.1, 1, 1, lr -> 1));
        rejects("smoothing must be in [0, 1), got 1.0", () -> LrRangeTest.run(0.1, 1, 10, 1, 4, lr -> 1));
        rejects("divergence must be > 1, got 1.0", () -> LrRangeTest.run(0.1, 1, 10, 0.9, 1, lr -> 1));
    }
}
