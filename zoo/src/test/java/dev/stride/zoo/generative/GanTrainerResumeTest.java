package dev.stride.zoo.generative;

import dev.stride.engine.Tensor;
import dev.stride.graph.Shape;
import dev.stride.zoo.data.GeneratedDigits;
import dev.stride.zoo.train.Checkpoint;
import dev.stride.zoo.train.CheckpointFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A GAN run interrupted after k iterations, checkpointed, and continued by a NEW trainer from the file takes exactly
 * the iterations of the uninterrupted run: per-iteration D and G losses and logits bit for bit, and the final
 * tensors of both sessions (both networks, both optimizers' moments and step counts, running statistics) byte for
 * byte. On the reference backend and on the cpu backend, where the thread count changes at the resume.
 */
class GanTrainerResumeTest {
    /** 40 images in batches of 16: 2 batches per epoch, the ragged 8 dropped. */
    static final GeneratedDigits DATA = new GeneratedDigits(40, 5);
    static final int K = 7;

    static GanTrainer.Config config(String backend, int threads) {
        return GanTrainer.Config.defaults().withBatchSize(16).withSeed(3).withBackend(backend).withThreads(threads);
    }

    /** The losses, logits and final tensors of a run. */
    record Outcome(List<GanTrainer.Step> log, Map<String, byte[]> d, Map<String, byte[]> g) {
        static Outcome of(GanTrainer t) {
            return new Outcome(List.copyOf(t.log()), t.discriminatorSession().snapshot().tensors(),
                    t.generatorSession().snapshot().tensors());
        }

        void assertSame(Outcome o, String what) {
            double[] dl = log.stream().mapToDouble(GanTrainer.Step::dLoss).toArray();
            double[] gl = log.stream().mapToDouble(GanTrainer.Step::gLoss).toArray();
            assertArrayEquals(dl, o.log.stream().mapToDouble(GanTrainer.Step::dLoss).toArray(), what + ": D losses");
            assertArrayEquals(gl, o.log.stream().mapToDouble(GanTrainer.Step::gLoss).toArray(), what + ": G losses");
            assertEquals(log, o.log, what + ": iteration records");
            for (var pair : List.of(List.of(d, o.d), List.of(g, o.g))) {
                assertEquals(pair.get(0).keySet(), pair.get(1).keySet(), what);
                for (String name : pair.get(0).keySet())
                    assertArrayEquals(pair.get(0).get(name), pair.get(1).get(name), what + ": bytes of " + name);
            }
        }
    }

    static Outcome uninterrupted(GanTrainer.Config c) throws IOException {
        try (var t = new GanTrainer(DcganTest.SMALL, DATA, c)) {
            t.run(K, null);
            return Outcome.of(t);
        }
    }

    /** k iterations with {@code before}, a checkpoint, a new trainer with {@code after} from it, on to K. */
    static Outcome interrupted(int k, GanTrainer.Config before, GanTrainer.Config after, Path file) throws IOException {
        try (var t = new GanTrainer(DcganTest.SMALL, DATA, before)) {
            t.run(k, null);
            t.checkpoint(file);
        }
        try (var t = GanTrainer.resume(DcganTest.SMALL, DATA, after, file)) {
            assertEquals(k, t.steps());
            assertEquals(k, t.log().size());
            assertEquals((k + 1) / 2, t.epoch());
            assertEquals(k % 2 == 0 ? 2 : 1, t.batchInEpoch());
            t.run(K - k, null);
            return Outcome.of(t);
        }
    }

    @Test
    void referenceBackendResumesBitForBit(@TempDir Path dir) throws IOException {
        Outcome whole = uninterrupted(config("reference", 1));
        assertEquals(K, whole.log.size());
        // Training moves: the losses differ from iteration to iteration.
        assertTrue(whole.log.stream().mapToDouble(GanTrainer.Step::gLoss).distinct().count() > 1);
        for (int k : new int[] {3, 4})          // mid-epoch, and at an epoch end
            whole.assertSame(interrupted(k, config("reference", 1), config("reference", 1), dir.resolve("r" + k + ".ckpt")),
                    "reference, resumed after " + k);
    }

    @Test
    void cpuBackendResumesBitForBitWhateverTheThreadCounts(@TempDir Path dir) throws IOException {
        Outcome whole = uninterrupted(config("cpu", 1));
        Outcome reference = uninterrupted(config("reference", 1));
        assertFalse(whole.log.equals(reference.log), "the cpu run should not be the reference run");
        whole.assertSame(interrupted(3, config("cpu", 2), config("cpu", 1), dir.resolve("a.ckpt")), "cpu, 2 threads then 1");
        whole.assertSame(interrupted(4, config("cpu", 1), config("cpu", 2), dir.resolve("b.ckpt")), "cpu, 1 thread then 2");
    }

    private static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void runWritesCheckpointsAtEpochEndsAndEveryNIterations(@TempDir Path dir) throws IOException {
        Outcome whole = uninterrupted(config("reference", 1));
        Path file = dir.resolve(GanTrainer.CHECKPOINT_FILE);
        GanTrainer.Config c = config("reference", 1).withCheckpointDir(dir).withCheckpointEvery(3);
        try (var t = new GanTrainer(DcganTest.SMALL, DATA, c)) {
            t.run(2, null);                                   // the epoch end at 2
            assertEquals(2, GanCheckpoint.load(file).step());
            t.run(1, null);                                   // every 3
            assertEquals(3, GanCheckpoint.load(file).step());
            t.run(2, null);                                   // the epoch end at 4; 5 is neither
            assertEquals(4, GanCheckpoint.load(file).step());
        }
        assertEquals(List.of(GanTrainer.CHECKPOINT_FILE), listing(dir), "no temporary files left");
        try (var t = GanTrainer.resume(DcganTest.SMALL, DATA, c, file)) {
            t.run(K - 4, null);
            whole.assertSame(Outcome.of(t), "resumed from the automatic checkpoint");
        }
        assertEquals(6, GanCheckpoint.load(file).step());
    }

    /** The comparison is sensitive to what the checkpoint restores: the position, and Adam's step count. */
    @Test
    void forgettingThePositionOrTheAdamStepChangesTheRun(@TempDir Path dir) throws IOException {
        Outcome whole = uninterrupted(config("reference", 1));
        Path file = dir.resolve("c.ckpt");
        try (var t = new GanTrainer(DcganTest.SMALL, DATA, config("reference", 1))) {
            t.run(3, null);
            t.checkpoint(file);
        }
        GanCheckpoint ck = GanCheckpoint.load(file);
        Path atZero = dir.resolve("zero.ckpt");
        new GanCheckpoint(ck.model(), ck.batchSize(), ck.seed(), ck.lrD(), ck.lrG(), ck.optimizer(), ck.batchesPerEpoch(),
                0, 0, 0, 0, 0, List.of(), ck.state()).save(atZero);
        try (var t = GanTrainer.resume(DcganTest.SMALL, DATA, config("reference", 1), atZero)) {
            List<GanTrainer.Step> rest = t.run(K - 3, null);
            assertFalse(rest.getFirst().gLoss() == whole.log.get(3).gLoss(), "the noise and data position is not tested");
        }
        try (var t = GanTrainer.resume(DcganTest.SMALL, DATA, config("reference", 1), file)) {
            t.generatorSession().set("g_opt/adam/t", Tensor.of(Shape.SCALAR, 0f));
            List<GanTrainer.Step> rest = t.run(K - 3, null);
            assertFalse(rest.get(1).gLoss() == whole.log.get(4).gLoss(), "the G optimizer's step count is not tested");
        }
    }

    @Test
    void fileRoundTripsAndDamageIsReported(@TempDir Path dir) throws IOException {
        GanCheckpoint ck;
        try (var t = new GanTrainer(DcganTest.CONDITIONAL, DATA, config("reference", 1))) {
            t.run(3, null);
            ck = t.checkpointState();
            // Every persistent tensor of both plans is stored, each once.
            for (var s : List.of(t.discriminatorSession(), t.generatorSession()))
                assertTrue(ck.state().keySet().containsAll(s.persistent().keySet()));
            assertTrue(ck.state().keySet().containsAll(List.of("d_opt/adam/t", "g_opt/adam/t", "gen/bn1/running_mean",
                    "disc/bn2/running_var")), ck.state().keySet().toString());
        }
        byte[] bytes = ck.toBytes();
        GanCheckpoint back = GanCheckpoint.fromBytes(bytes);
        assertEquals(ck.model(), back.model());
        assertEquals(List.of(ck.batchSize(), ck.seed(), ck.lrD(), ck.lrG(), ck.optimizer(), ck.batchesPerEpoch(), ck.step(),
                        ck.epoch(), ck.batch(), ck.dSessionStep(), ck.gSessionStep()),
                List.of(back.batchSize(), back.seed(), back.lrD(), back.lrG(), back.optimizer(), back.batchesPerEpoch(),
                        back.step(), back.epoch(), back.batch(), back.dSessionStep(), back.gSessionStep()));
        assertEquals(List.of(3L, 2, 1, 3L, 3L), List.of(back.step(), back.epoch(), back.batch(), back.dSessionStep(), back.gSessionStep()));
        assertEquals(ck.log(), back.log());
        assertArrayEquals(bytes, back.toBytes());

        Path cut = dir.resolve("cut.ckpt");
        Files.write(cut, Arrays.copyOf(bytes, bytes.length - 100));
        var e = assertThrows(CheckpointFormatException.class,
                () -> GanTrainer.resume(DcganTest.CONDITIONAL, DATA, config("reference", 1), cut));
        assertTrue(e.getMessage().startsWith(cut + ": ") && e.getMessage().contains("truncated"), e.getMessage());

        byte[] flipped = bytes.clone();
        flipped[bytes.length / 2] ^= 1;
        Path bad = dir.resolve("bad.ckpt");
        Files.write(bad, flipped);
        e = assertThrows(CheckpointFormatException.class, () -> GanCheckpoint.load(bad));
        assertTrue(e.getMessage().contains("checksum mismatch"), e.getMessage());
    }

    /** A classifier's checkpoint is not a GAN checkpoint. */
    @Test
    void aClassifierCheckpointIsRefusedByItsMagic(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("classifier.ckpt");
        Files.write(file, new Checkpoint(dev.stride.graph.DType.F32, 16, 2, 1, 5, 0, 0, 0, 0, false, 0,
                dev.stride.zoo.train.EarlyStopping.Metric.EVAL_LOSS, dev.stride.zoo.train.EarlyStopping.Tracker.START,
                List.of(), List.of(), Map.of(), Map.of()).toBytes());
        var e = assertThrows(CheckpointFormatException.class,
                () -> GanTrainer.resume(DcganTest.SMALL, DATA, config("reference", 1), file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("not a Stride GAN checkpoint"),
                e.getMessage());
    }

    @Test
    void aCheckpointOfAnotherModelOrRunIsRefusedNamingTheField(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("small.ckpt");
        try (var t = new GanTrainer(DcganTest.SMALL, DATA, config("reference", 1))) {
            t.run(1, null);
            t.checkpoint(file);
        }
        var c = config("reference", 1);
        record Case(Dcgan model, GanTrainer.Config config, dev.stride.zoo.data.Batches.Dataset data, String message) {}
        for (Case k : List.of(
                new Case(new Dcgan(DcganTest.SMALL.config().withWidths(16, 8)), c, DATA,
                        "ngf (generator width) is 8 in the checkpoint, 16 here"),
                new Case(DcganTest.CONDITIONAL, c, DATA, "classes (0: unconditional) is 0 in the checkpoint, 10 here"),
                new Case(DcganTest.SMALL, c.withBatchSize(8), DATA, "batch size is 16 in the checkpoint, 8 here"),
                new Case(DcganTest.SMALL, c.withLr(1e-3, 2e-4), DATA, "discriminator learning rate is 2.0E-4 in the checkpoint, 0.001 here"),
                new Case(DcganTest.SMALL, c, new GeneratedDigits(64, 5), "batches per epoch (of 64 images here) is 2 in the checkpoint, 4 here"))) {
            var e = assertThrows(IllegalArgumentException.class, () -> GanTrainer.resume(k.model, k.data, k.config, file));
            assertTrue(e.getMessage().startsWith("checkpoint " + file + " does not fit this trainer: ")
                    && e.getMessage().contains(k.message), e.getMessage());
        }

        // Tensors are checked by name and shape against both plans.
        GanCheckpoint ck = GanCheckpoint.load(file);
        Map<String, Checkpoint.Entry> lacking = new LinkedHashMap<>(ck.state());
        String moment = ck.state().keySet().stream().filter(n -> n.startsWith("g_opt/gen/") && n.endsWith("/exp_avg"))
                .findFirst().orElseThrow();
        lacking.remove(moment);
        Map<String, Checkpoint.Entry> foreign = new LinkedHashMap<>(ck.state());
        foreign.put("disc/conv9/weight", new Checkpoint.Entry(new int[] {1}, new byte[4]));
        Map<String, Checkpoint.Entry> reshaped = new LinkedHashMap<>(ck.state());
        Checkpoint.Entry w = reshaped.get("disc/conv1/weight");
        int[] dims = w.dims();
        reshaped.put("disc/conv1/weight", new Checkpoint.Entry(new int[] {dims[0], dims[1], dims[2] * dims[3], 1}, w.data()));
        int[] shape = dims.clone();
        for (var k : List.of(
                Map.entry(lacking, "it lacks [" + moment + "]"),
                Map.entry(foreign, "its state has 'disc/conv9/weight', which is not a parameter or state of the model"),
                Map.entry(reshaped, "its state has 'disc/conv1/weight' [" + dims[0] + ", " + dims[1] + ", " + dims[2] * dims[3]
                        + ", 1], the model has " + Shape.of(shape)))) {
            Path edited = dir.resolve("edited.ckpt");
            new GanCheckpoint(ck.model(), ck.batchSize(), ck.seed(), ck.lrD(), ck.lrG(), ck.optimizer(), ck.batchesPerEpoch(),
                    ck.step(), ck.epoch(), ck.batch(), ck.dSessionStep(), ck.gSessionStep(), ck.log(), k.getKey()).save(edited);
            var e = assertThrows(IllegalArgumentException.class, () -> GanTrainer.resume(DcganTest.SMALL, DATA, c, edited),
                    k.getValue());
            assertTrue(e.getMessage().contains(edited.toString()) && e.getMessage().contains(k.getValue()), e.getMessage());
        }
    }
}
