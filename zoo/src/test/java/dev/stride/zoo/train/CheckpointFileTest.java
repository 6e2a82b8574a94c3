package dev.stride.zoo.train;

import dev.stride.graph.ConvSpec;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Value;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Checkpoint files: round trip, atomic writes, and clear errors for truncated, corrupted or foreign files. */
class CheckpointFileTest {
    static byte[] bytes;
    static Checkpoint original;

    @BeforeAll
    static void checkpointAfterThreeSteps() throws IOException {
        try (Trainer t = Trainer.create(TrainerResumeTest::tiny, TrainerResumeTest.TRAIN, TrainerResumeTest.TEST,
                TrainerResumeTest.config().withEpochs(1)
                        .withEarlyStopping(EarlyStopping.onEvalLoss(2, 0)))) {
            t.run(8);      // one epoch: an evaluation, an epoch record and a best state
            original = t.checkpointState();
        }
        bytes = original.toBytes();
    }

    @Test
    void roundTripKeepsEveryField() throws IOException {
        Checkpoint back = Checkpoint.fromBytes(bytes);
        assertEquals(original.dtype(), back.dtype());
        assertEquals(original.batchSize(), back.batchSize());
        assertEquals(original.batchesPerEpoch(), back.batchesPerEpoch());
        assertEquals(original.dataSeed(), back.dataSeed());
        assertEquals(original.topK(), back.topK());
        assertEquals(original.sessionStep(), back.sessionStep());
        assertEquals(original.globalStep(), back.globalStep());
        assertEquals(original.epoch(), back.epoch());
        assertEquals(original.batch(), back.batch());
        assertEquals(original.stoppedEarly(), back.stoppedEarly());
        assertEquals(Double.doubleToRawLongBits(original.runningLoss()), Double.doubleToRawLongBits(back.runningLoss()));
        assertEquals(original.metric(), back.metric());
        assertEquals(original.tracker(), back.tracker());
        assertEquals(original.steps(), back.steps());
        assertEquals(original.epochs(), back.epochs());
        assertEquals(1, back.epochs().size());
        assertEquals(1, back.tracker().bestEpoch());
        for (var pair : List.of(List.of(original.state(), back.state()), List.of(original.bestState(), back.bestState()))) {
            assertEquals(pair.get(0).keySet(), pair.get(1).keySet());
            assertTrue(!pair.get(0).isEmpty());
            for (String name : pair.get(0).keySet()) {
                assertArrayEquals(pair.get(0).get(name).dims(), pair.get(1).get(name).dims(), name);
                assertArrayEquals(pair.get(0).get(name).data(), pair.get(1).get(name).data(), name);
            }
        }
        assertArrayEquals(bytes, back.toBytes());
    }

    private static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void atomicWritesLeaveOnlyTheCheckpoint(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("a.ckpt");
        original.save(file);
        original.save(file);                               // replaces the existing file
        assertEquals(List.of("a.ckpt"), listing(dir));
        assertArrayEquals(bytes, Files.readAllBytes(file));
    }

    @Test
    void aFailedWriteRemovesItsTemporaryFileAndKeepsTheTarget(@TempDir Path dir) throws IOException {
        // The target is a non-empty directory: the final rename must fail.
        Path target = dir.resolve("x.ckpt");
        Files.createDirectories(target.resolve("inside"));
        assertThrows(IOException.class, () -> original.save(target));
        assertEquals(List.of("x.ckpt"), listing(dir));
        assertTrue(Files.isDirectory(target.resolve("inside")));
    }

    private static CheckpointFormatException loadFails(Path dir, byte[] content) throws IOException {
        Path file = dir.resolve("bad.ckpt");
        Files.write(file, content);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Checkpoint.load(file));
        assertTrue(e.getMessage().startsWith(file.toString() + ": "), e.getMessage());
        assertEquals(file.toString(), e.source());
        return e;
    }

    @Test
    void truncatedFilesAreReportedAsTruncated(@TempDir Path dir) throws IOException {
        assertTrue(loadFails(dir, new byte[0]).problem().contains("empty"));
        for (int length : new int[] {5, 12, 23, 24, 25, 100, bytes.length / 2, bytes.length - 1}) {
            String problem = loadFails(dir, Arrays.copyOf(bytes, length)).problem();
            assertTrue(problem.contains("truncated"), length + " bytes: " + problem);
        }
    }

    @Test
    void corruptedForeignAndPaddedFilesAreRejected(@TempDir Path dir) throws IOException {
        for (int at : new int[] {Checkpoint.HEADER_BYTES, Checkpoint.HEADER_BYTES + 30, bytes.length / 2, bytes.length - 1}) {
            byte[] b = bytes.clone();
            b[at] ^= 0x10;
            assertTrue(loadFails(dir, b).problem().contains("checksum mismatch"), "flip at " + at);
        }
        byte[] plan = bytes.clone();
        System.arraycopy("STRIDEPL".getBytes(), 0, plan, 0, 8);
        assertTrue(loadFails(dir, plan).problem().contains("not a Stride checkpoint"));

        byte[] newer = bytes.clone();
        newer[8] = 2;
        assertTrue(loadFails(dir, newer).problem().contains("newer"));

        byte[] padded = Arrays.copyOf(bytes, bytes.length + 3);
        assertTrue(loadFails(dir, padded).problem().contains("3 bytes after"));
    }

    /** A file crafted with a valid checksum but an absurd count fails cleanly, before allocating for the count. */
    @Test
    void impossibleCountsBehindAValidChecksumAreBoundedErrors(@TempDir Path dir) throws IOException {
        byte[] b = bytes.clone();
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        buf.putInt(Checkpoint.HEADER_BYTES, Integer.MAX_VALUE);       // the dtype string's length
        CRC32C crc = new CRC32C();
        crc.update(b, Checkpoint.HEADER_BYTES, b.length - Checkpoint.HEADER_BYTES);
        buf.putInt(12, (int) crc.getValue());
        String problem = loadFails(dir, b).problem();
        assertTrue(problem.contains("dtype length count 2147483647") && problem.contains("impossible"), problem);
    }

    @Test
    void resumeNamesTheFileOfABadCheckpoint(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("cut.ckpt");
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 10));
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Trainer.resume(
                TrainerResumeTest::tiny, TrainerResumeTest.TRAIN, TrainerResumeTest.TEST, TrainerResumeTest.config(), file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("truncated"), e.getMessage());
    }

    /** The test model with 8 convolution channels instead of 4: the same tensor names, other shapes. */
    static Value wider(GraphBuilder b, Value x) {
        x = b.conv2d("c1", x, 8, 3, ConvSpec.defaults().pad(1));
        x = b.relu(b.batchNorm2d("bn1", x));
        x = b.maxPool2d(x, 4, 4);
        x = b.dropout(b.flatten(x), 0.25);
        return b.dense("out", x, 10);
    }

    @Test
    void aCheckpointOfAnotherModelOrBatchSizeIsRefused(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("c.ckpt");
        original.save(file);
        var e = assertThrows(IllegalArgumentException.class, () -> Trainer.resume(CheckpointFileTest::wider,
                TrainerResumeTest.TRAIN, TrainerResumeTest.TEST, TrainerResumeTest.config(), file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("'c1/weight' [4, 1, 3, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Trainer.resume(TrainerResumeTest::tiny,
                TrainerResumeTest.TRAIN, TrainerResumeTest.TEST, TrainerResumeTest.config().withBatchSize(16), file));
        assertTrue(e.getMessage().contains("batch size 32"), e.getMessage());
    }
}
