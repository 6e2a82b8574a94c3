package dev.stride.zoo.train;

import dev.stride.engine.Tensor;
import dev.stride.graph.ConvSpec;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Optimizer;
import dev.stride.graph.Schedule;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.zoo.data.GeneratedDigits;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An interrupted run, resumed from its checkpoint by a new trainer, takes exactly the steps of the uninterrupted
 * run: same per-step losses (exact double equality), same evaluations, same final tensors byte for byte. The model
 * has dropout (the session's run counter must be restored), batch norm (running statistics) and Adam (moments and
 * the step counter adam/t); the schedule varies the learning rate every step (the global step must be restored).
 */
class TrainerResumeTest {
    static final GeneratedDigits TRAIN = new GeneratedDigits(256, 11, true);
    static final GeneratedDigits TEST = new GeneratedDigits(100, 12, true);

    /** conv 3x3 -> batch norm -> relu -> max pool 4 -> dropout -> dense: [N, 1, 28, 28] to [N, 10]. */
    static Value tiny(GraphBuilder b, Value x) {
        x = b.conv2d("c1", x, 4, 3, ConvSpec.defaults().pad(1));
        x = b.relu(b.batchNorm2d("bn1", x));
        x = b.maxPool2d(x, 4, 4);
        x = b.dropout(b.flatten(x), 0.25);
        return b.dense("out", x, 10);
    }

    static TrainerConfig config() {
        return TrainerConfig.defaults().withEpochs(2).withBatchSize(32).withOptimizer(new Optimizer.Adam())
                .withSchedule(new Schedule.CosineWarmup(0.01, 3, 16, 1e-4)).withSeed(7).withEvalBatchSize(64)
                .withThreads(1).withProgress(null);
    }

    static Map<String, byte[]> tensors(Trainer t) { return t.session().snapshot().tensors(); }

    static TrainingLog reference;
    static Map<String, byte[]> referenceTensors;
    static long referenceSessionStep;
    static double referenceRunningLoss;

    @BeforeAll
    static void uninterrupted() throws IOException {
        try (Trainer t = Trainer.create(TrainerResumeTest::tiny, TRAIN, TEST, config())) {
            Trainer.Result r = t.fit();
            assertEquals(16, r.steps());
            reference = t.log();
            referenceTensors = tensors(t);
            referenceSessionStep = t.session().step();
            referenceRunningLoss = t.runningLoss();
        }
        assertEquals(16, reference.steps().size());
        assertEquals(2, reference.epochs().size());
        // The test is only meaningful if training moves: the loss falls and the learning rate changes.
        double[] loss = reference.losses();
        assertTrue(loss[15] < loss[0], "loss " + loss[0] + " -> " + loss[15]);
        assertTrue(reference.steps().get(3).lr() != reference.steps().get(10).lr());
    }

    private static void assertSameAsReference(Trainer t, String what) {
        assertArrayEquals(reference.losses(), t.log().losses(), what + ": per-step losses");
        assertEquals(reference.steps(), t.log().steps(), what + ": step records");
        assertEquals(reference.epochs(), t.log().epochs(), what + ": evaluations");
        assertEquals(referenceSessionStep, t.session().step(), what + ": session step");
        assertEquals(referenceRunningLoss, t.runningLoss(), what + ": running loss");
        Map<String, byte[]> got = tensors(t);
        assertEquals(referenceTensors.keySet(), got.keySet());
        for (String name : got.keySet())
            assertArrayEquals(referenceTensors.get(name), got.get(name), what + ": bytes of " + name);
    }

    @Test
    void checkpointHoldsOptimizerStateRunningStatsAndCounters() throws IOException {
        try (Trainer t = Trainer.create(TrainerResumeTest::tiny, TRAIN, TEST, config())) {
            assertTrue(Double.isNaN(t.runningLoss()));
            t.run(5);
            // The running loss is the bias-corrected moving average of the 5 losses (weights 0.95^(4-i)).
            double num = 0, den = 0;
            for (int i = 0; i < 5; i++) {
                num += Math.pow(0.95, 4 - i) * t.log().losses()[i];
                den += Math.pow(0.95, 4 - i);
            }
            assertEquals(num / den, t.runningLoss(), 1e-12);
            Checkpoint ck = t.checkpointState();
            assertTrue(ck.state().keySet().containsAll(List.of("c1/weight", "bn1/running_mean", "bn1/running_var",
                    "out/weight/exp_avg", "out/weight/exp_avg_sq", "adam/t")), ck.state().keySet().toString());
            assertEquals(5, ck.sessionStep());
            assertEquals(5, ck.globalStep());
            assertEquals(0, ck.epoch());
            assertEquals(5, ck.batch());
            // adam/t counts the steps: a F32 scalar 5.
            byte[] tBytes = ck.state().get("adam/t").data();
            assertEquals(5f, java.nio.ByteBuffer.wrap(tBytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).getFloat());
        }
    }

    @Test
    void resumedMidEpochAtEpochEndAndInSecondEpochEqualsUninterrupted(@TempDir Path dir) throws IOException {
        for (int k : new int[] {5, 8, 11}) {
            Path file = dir.resolve("k" + k + ".ckpt");
            try (Trainer t = Trainer.create(TrainerResumeTest::tiny, TRAIN, TEST, config())) {
                assertFalse(t.run(k));
                assertEquals(k, t.globalStep());
                t.checkpoint(file);
            }
            try (Trainer t = Trainer.resume(TrainerResumeTest::tiny, TRAIN, TEST, config(), file)) {
                assertEquals(k, t.globalStep());
                assertEquals(k / 8, t.epoch());
                assertEquals(k % 8, t.batchInEpoch());
                assertEquals(k, t.log().steps().size());
                assertTrue(t.run(Long.MAX_VALUE));
                assertSameAsReference(t, "resumed after " + k + " steps");
            }
        }
    }

    @Test
    void resumeFromTheAutomaticCheckpointEqualsUninterrupted(@TempDir Path dir) throws IOException {
        TrainerConfig withCheckpoints = config().withCheckpointDir(dir).withCheckpointEvery(3);
        try (Trainer t = Trainer.create(TrainerResumeTest::tiny, TRAIN, TEST, withCheckpoints)) {
            t.run(7);      // checkpoints after steps 3 and 6: the file holds step 6
        }
        Path file = dir.resolve(Trainer.CHECKPOINT_FILE);
        assertEquals(6, Checkpoint.load(file).globalStep());
        try (Trainer t = Trainer.resume(TrainerResumeTest::tiny, TRAIN, TEST, withCheckpoints, file)) {
            t.fit();
            assertSameAsReference(t, "resumed from the automatic checkpoint");
        }
        // The run ended with an epoch-end checkpoint of the finished state.
        Checkpoint last = Checkpoint.load(file);
        assertEquals(16, last.globalStep());
        assertEquals(2, last.epoch());
        assertEquals(2, last.epochs().size());
    }

    /**
     * The same on the cpu backend, whose kernels give the same bits for any thread count: a checkpoint written by a
     * 2-thread run and resumed on 1 thread, and one written on 1 thread and resumed on 2, both end exactly where the
     * uninterrupted 1-thread cpu run does (and the convolution really ran a cpu kernel, not the reference fallback).
     */
    @Test
    void onTheCpuBackendResumedRunsEqualTheUninterruptedOneForAnyThreadCount(@TempDir Path dir) throws IOException {
        TrainerConfig cpu = config().withBackend("cpu");
        double[] losses;
        List<TrainingLog.Epoch> epochs;
        Map<String, byte[]> end;
        try (Trainer t = Trainer.create(TrainerResumeTest::tiny, TRAIN, TEST, cpu.withThreads(1))) {
            t.fit();
            losses = t.log().losses();
            epochs = t.log().epochs();
            end = tensors(t);
            var conv = t.trainingPlan().graph().nodes().stream().filter(n -> n.op().kind().equals("Conv2d")).findFirst();
            assertTrue(conv.isPresent());
            assertFalse(t.session().algorithm(conv.get().id()).equals("reference"), "conv ran on the reference kernel");
        }
        assertEquals(16, losses.length);
        assertFalse(Arrays.equals(reference.losses(), losses), "the cpu run should not be the reference run");
        for (int[] c : new int[][] {{5, 2, 1}, {11, 1, 2}}) {
            int k = c[0];
            Path file = dir.resolve("cpu" + k + ".ckpt");
            try (Trainer t = Trainer.create(TrainerResumeTest::tiny, TRAIN, TEST, cpu.withThreads(c[1]))) {
                t.run(k);
                t.checkpoint(file);
            }
            try (Trainer t = Trainer.resume(TrainerResumeTest::tiny, TRAIN, TEST, cpu.withThreads(c[2]), file)) {
                t.fit();
                String what = "cpu, " + c[1] + " thread(s) for " + k + " steps, then " + c[2];
                assertArrayEquals(losses, t.log().losses(), what + ": per-step losses");
                assertEquals(epochs, t.log().epochs(), what + ": evaluations");
                Map<String, byte[]> got = tensors(t);
                assertEquals(end.keySet(), got.keySet());
                for (String name : got.keySet()) assertArrayEquals(end.get(name), got.get(name), what + ": bytes of " + name);
            }
        }
    }

    /**
     * Negative controls: the comparison above is sensitive to exactly what the checkpoint restores. Resuming with
     * the session's run counter or Adam's step count reset gives different losses.
     */
    @Test
    void forgettingTheRngPositionOrTheAdamStepChangesTheRun(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("c.ckpt");
        try (Trainer t = Trainer.create(TrainerResumeTest::tiny, TRAIN, TEST, config())) {
            t.run(5);
            t.checkpoint(file);
        }
        try (Trainer t = Trainer.resume(TrainerResumeTest::tiny, TRAIN, TEST, config(), file)) {
            t.session().setStep(0);             // dropout masks of steps 0.. again
            t.fit();
            assertFalse(Arrays.equals(reference.losses(), t.log().losses()), "dropout stream position is not tested");
        }
        try (Trainer t = Trainer.resume(TrainerResumeTest::tiny, TRAIN, TEST, config(), file)) {
            t.session().set("adam/t", Tensor.of(Shape.SCALAR, 0f));
            t.fit();
            assertFalse(Arrays.equals(reference.losses(), t.log().losses()), "Adam's step counter is not tested");
        }
    }

    @Test
    void resumingAFinishedRunDoesNothingAndMoreEpochsContinue(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("done.ckpt");
        try (Trainer t = Trainer.create(TrainerResumeTest::tiny, TRAIN, TEST, config().withEpochs(1))) {
            t.fit();
            t.checkpoint(file);
        }
        try (Trainer t = Trainer.resume(TrainerResumeTest::tiny, TRAIN, TEST, config().withEpochs(1), file)) {
            assertTrue(t.finished());
            assertTrue(t.run(100));
            assertEquals(8, t.globalStep());
        }
        // The same checkpoint with the full epoch count continues into epoch 2, as the 2-epoch run did.
        try (Trainer t = Trainer.resume(TrainerResumeTest::tiny, TRAIN, TEST, config(), file)) {
            t.fit();
            assertSameAsReference(t, "1-epoch run extended to 2");
        }
        assertTrue(Files.exists(file));
    }
}
