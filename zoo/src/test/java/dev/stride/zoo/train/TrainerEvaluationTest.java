package dev.stride.zoo.train;

import dev.stride.zoo.data.GeneratedDigits;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Evaluation covers every test sample once, whatever the inference batch, and top-k behaves at its limits. */
class TrainerEvaluationTest {
    @Test
    void metricsDoNotDependOnTheEvaluationBatchOrItsPadding() throws IOException {
        var test = new GeneratedDigits(100, 12, true);
        Trainer.Evaluation[] ev = new Trainer.Evaluation[3];
        int[] evalBatches = {100, 64, 7};                    // one batch; a padded tail of 36; a padded tail of 2
        for (int i = 0; i < 3; i++) {
            TrainerConfig c = TrainerResumeTest.config().withEpochs(1).withEvalBatchSize(evalBatches[i]);
            try (Trainer t = Trainer.create(TrainerResumeTest::tiny, TrainerResumeTest.TRAIN, test, c)) {
                t.run(4);                                     // part-trained, so predictions are mixed
                ev[i] = t.evaluate();
            }
        }
        for (Trainer.Evaluation e : ev) {
            assertEquals(100, e.samples());
            assertEquals(ev[0].accuracy(), e.accuracy());
            assertEquals(ev[0].topKAccuracy(), e.topKAccuracy());
            assertEquals(ev[0].loss(), e.loss(), 1e-9);
        }
        assertTrue(ev[0].accuracy() > 0.1 && ev[0].accuracy() < 1, "accuracy " + ev[0].accuracy());
        assertTrue(ev[0].accuracy() <= ev[0].topKAccuracy());
    }

    @Test
    void topKOfAllClassesIsAlwaysRightAndTopOneIsAccuracy() throws IOException {
        var test = new GeneratedDigits(50, 12, true);
        for (int k : new int[] {1, 10, 20}) {
            TrainerConfig c = TrainerResumeTest.config().withEpochs(1).withTopK(k);
            try (Trainer t = Trainer.create(TrainerResumeTest::tiny, TrainerResumeTest.TRAIN, test, c)) {
                t.run(2);
                Trainer.Evaluation e = t.evaluate();
                if (k == 1) assertEquals(e.accuracy(), e.topKAccuracy());
                else assertEquals(1.0, e.topKAccuracy());
            }
        }
    }

    @Test
    void configAndDataAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> TrainerConfig.defaults().withEpochs(0));
        assertThrows(IllegalArgumentException.class, () -> TrainerConfig.defaults().withTopK(0));
        assertThrows(IllegalArgumentException.class, () -> TrainerConfig.defaults().withLr(Double.NaN));
        var e = assertThrows(IllegalArgumentException.class, () -> Trainer.create(TrainerResumeTest::tiny,
                new GeneratedDigits(20, 1, true), new GeneratedDigits(10, 2, true), TrainerResumeTest.config()));
        assertTrue(e.getMessage().contains("no full batch of 32"), e.getMessage());
    }
}
