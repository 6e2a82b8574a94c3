package dev.stride.zoo.train;

import dev.stride.graph.Optimizer;
import dev.stride.zoo.data.GeneratedDigits;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EarlyStoppingTest {
    private static List<EarlyStopping.Verdict> verdicts(EarlyStopping rule, double... values) {
        List<EarlyStopping.Verdict> out = new ArrayList<>();
        EarlyStopping.Tracker t = EarlyStopping.Tracker.START;
        for (int i = 0; i < values.length; i++) {
            t = t.observe(rule, i + 1, values[i]);
            out.add(t.verdict(rule));
        }
        return out;
    }

    @Test
    void lossMustFallByMoreThanMinDeltaAndPatienceCountsConsecutiveEpochs() {
        var rule = EarlyStopping.onEvalLoss(2, 0.05);
        var I = EarlyStopping.Verdict.IMPROVED;
        var N = EarlyStopping.Verdict.NOT_IMPROVED;
        var S = EarlyStopping.Verdict.STOP;
        // 1.0 best; 0.96 is not 0.05 better; 0.9 is (resets the count); 0.86, 0.87 are not: stop.
        assertEquals(List.of(I, N, I, N, S), verdicts(rule, 1.0, 0.96, 0.9, 0.86, 0.87));
        EarlyStopping.Tracker t = EarlyStopping.Tracker.START;
        for (double v : new double[] {1.0, 0.96, 0.9, 0.86, 0.87}) t = t.observe(rule, 0, v);
        assertEquals(0.9, t.best());
        assertEquals(2, t.epochsWithoutImprovement());
    }

    @Test
    void accuracyIsBetterHigherAndNaNNeverImproves() {
        var rule = new EarlyStopping(EarlyStopping.Metric.ACCURACY, 1, 0, true);
        var I = EarlyStopping.Verdict.IMPROVED;
        var S = EarlyStopping.Verdict.STOP;
        assertEquals(List.of(I, I, S), verdicts(rule, 0.5, 0.6, 0.6));   // equal is no improvement with minDelta 0
        assertEquals(List.of(S), verdicts(rule, Double.NaN));
        EarlyStopping.Tracker t = EarlyStopping.Tracker.START.observe(rule, 3, 0.7).observe(rule, 4, 0.2);
        assertEquals(3, t.bestEpoch());
        assertEquals(0.7, t.best());
    }

    @Test
    void offNeverStopsAndArgumentsAreChecked() {
        double[] worse = new double[50];
        Arrays.setAll(worse, i -> i);
        assertFalse(verdicts(EarlyStopping.off(), worse).contains(EarlyStopping.Verdict.STOP));
        assertThrows(IllegalArgumentException.class, () -> EarlyStopping.onEvalLoss(0, 0));
        assertThrows(IllegalArgumentException.class, () -> EarlyStopping.onEvalLoss(1, -0.1));
        assertThrows(IllegalArgumentException.class, () -> EarlyStopping.onEvalLoss(1, Double.NaN));
    }

    /**
     * With a minDelta no epoch can beat, training stops after 1 + patience epochs, and the weights it ends with are
     * byte for byte those a 1-epoch run ends with (the best epoch), not those of its last epoch.
     */
    @Test
    void trainerStopsAfterPatienceAndRestoresTheBestEpoch() throws IOException {
        var train = TrainerResumeTest.TRAIN;
        var test = new GeneratedDigits(64, 12, true);
        TrainerConfig base = TrainerResumeTest.config().withOptimizer(new Optimizer.Adam()).withLr(0.003);
        Map<String, byte[]> afterOne, afterThree;
        try (Trainer t = Trainer.create(TrainerResumeTest::tiny, train, test, base.withEpochs(1))) {
            t.fit();
            afterOne = t.session().snapshot().tensors();
        }
        try (Trainer t = Trainer.create(TrainerResumeTest::tiny, train, test, base.withEpochs(3))) {
            t.fit();
            afterThree = t.session().snapshot().tensors();
        }
        assertFalse(Arrays.equals(afterOne.get("c1/weight"), afterThree.get("c1/weight")), "training does not move");

        TrainerConfig stopping = base.withEpochs(10).withEarlyStopping(EarlyStopping.onEvalLoss(2, 100));
        try (Trainer t = Trainer.create(TrainerResumeTest::tiny, train, test, stopping)) {
            Trainer.Result r = t.fit();
            assertTrue(r.stoppedEarly());
            assertTrue(t.finished());
            assertEquals(3, r.log().epochs().size());
            assertEquals(24, r.steps());
            assertEquals(1, r.bestEpoch());
            assertEquals(r.log().epochs().getFirst().evalLoss(), r.bestMetric());
            assertEquals(3, t.epoch());
            Map<String, byte[]> restored = t.session().snapshot().tensors();
            for (String name : afterOne.keySet()) assertArrayEquals(afterOne.get(name), restored.get(name), name);
            assertTrue(t.run(5));
            assertEquals(24, t.globalStep(), "a stopped trainer takes no more steps");
        }
    }
}
