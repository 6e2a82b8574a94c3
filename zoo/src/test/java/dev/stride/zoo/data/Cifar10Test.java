package dev.stride.zoo.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Cifar10} on small generated binary files. Each expected value comes from {@link #pixel}, the formula the
 * files were written from, never from the loader.
 */
class Cifar10Test {
    static final int PLANE = 32 * 32;

    /** Byte of global record {@code r}, channel {@code c}, pixel {@code p}: distinct per channel, so swapped planes show. */
    static int pixel(int r, int c, int p) { return (r * 31 + c * 85 + p * 7 + (p >> 5)) & 0xff; }

    static int label(int r) { return (r * 3 + 1) % 10; }

    /** A file of {@code n} records numbered from {@code first}, laid out label, R plane, G plane, B plane. */
    static byte[] records(int first, int n) {
        byte[] out = new byte[n * 3073];
        for (int k = 0; k < n; k++) {
            int r = first + k, o = k * 3073;
            out[o] = (byte) label(r);
            for (int c = 0; c < 3; c++) {
                for (int p = 0; p < PLANE; p++) out[o + 1 + c * PLANE + p] = (byte) pixel(r, c, p);
            }
        }
        return out;
    }

    /** Training files of 3, 2, 1, 4 and 2 records (12 in all) and a test file of 3, numbered from 100. */
    static void writeAll(Path dir) throws IOException {
        int[] counts = {3, 2, 1, 4, 2};
        int r = 0;
        for (int f = 0; f < 5; f++) {
            Files.write(dir.resolve("data_batch_" + (f + 1) + ".bin"), records(r, counts[f]));
            r += counts[f];
        }
        Files.write(dir.resolve("test_batch.bin"), records(100, 3));
    }

    @Test
    void recordsRoundTripToTheirChannelPlanesAndLabels(@TempDir Path dir) throws IOException {
        writeAll(dir);
        Cifar10 train = Cifar10.load(dir, Cifar10.Split.TRAIN);
        assertEquals(12, train.size());
        assertEquals(3 * 32 * 32, train.imageSize());
        int[] idx = {11, 0, 5, 3};   // across files, out of order
        float[] images = new float[idx.length * 3072], labels = new float[idx.length];
        train.batch(idx, images, labels);
        for (int b = 0; b < idx.length; b++) {
            assertEquals(label(idx[b]), labels[b], "label of " + idx[b]);
            assertEquals(label(idx[b]), train.label(idx[b]));
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < 32; y++) {
                    for (int x = 0; x < 32; x++) {
                        int p = y * 32 + x;
                        assertEquals(pixel(idx[b], c, p) / 255f, images[b * 3072 + c * PLANE + p],
                                "record " + idx[b] + " channel " + c + " (" + y + ", " + x + ")");
                        assertEquals(pixel(idx[b], c, p), train.raw(idx[b], c, y, x));
                    }
                }
            }
        }
        Cifar10 test = Cifar10.load(dir, Cifar10.Split.TEST);
        assertEquals(3, test.size());
        for (int i = 0; i < 3; i++) {
            assertEquals(label(100 + i), test.label(i));
            assertEquals(pixel(100 + i, 2, 1000), test.raw(i, 2, 1000 / 32, 1000 % 32));
        }
    }

    @Test
    void limitKeepsTheFirstRecordsAcrossFiles(@TempDir Path dir) throws IOException {
        writeAll(dir);
        Cifar10 four = Cifar10.load(dir, Cifar10.Split.TRAIN, 4);
        assertEquals(4, four.size());
        for (int i = 0; i < 4; i++) assertEquals(label(i), four.label(i));
        assertEquals(pixel(3, 1, 17), four.raw(3, 1, 0, 17));
        assertEquals(12, Cifar10.load(dir, Cifar10.Split.TRAIN, 1000).size());
    }

    @Test
    void theArchiveFolderIsFoundInside(@TempDir Path dir) throws IOException {
        Path nested = Files.createDirectory(dir.resolve(Cifar10.FOLDER));
        writeAll(nested);
        assertTrue(Cifar10.present(dir, Cifar10.Split.TRAIN));
        assertEquals(3, Cifar10.load(dir, Cifar10.Split.TEST).size());
        assertFalse(Cifar10.present(dir.resolve("nowhere"), Cifar10.Split.TEST));
    }

    @Test
    void aSizeThatIsNotWholeRecordsIsRejectedWithTheNumbers(@TempDir Path dir) throws IOException {
        writeAll(dir);
        byte[] bad = new byte[2 * 3073 + 5];
        Files.write(dir.resolve("test_batch.bin"), bad);
        var e = assertThrows(Idx.FormatException.class, () -> Cifar10.load(dir, Cifar10.Split.TEST));
        assertTrue(e.getMessage().contains("test_batch.bin"), e.getMessage());
        assertTrue(e.getMessage().contains("6151"), e.getMessage());
        assertTrue(e.getMessage().contains("3073"), e.getMessage());

        Files.write(dir.resolve("data_batch_4.bin"), new byte[3072]);   // one byte short of a record
        e = assertThrows(Idx.FormatException.class, () -> Cifar10.load(dir, Cifar10.Split.TRAIN));
        assertTrue(e.getMessage().contains("data_batch_4.bin") && e.getMessage().contains("3072"), e.getMessage());

        Files.write(dir.resolve("data_batch_4.bin"), new byte[0]);
        e = assertThrows(Idx.FormatException.class, () -> Cifar10.load(dir, Cifar10.Split.TRAIN));
        assertTrue(e.getMessage().contains("data_batch_4.bin") && e.getMessage().contains("size is 0"),
                e.getMessage());
    }

    @Test
    void aLabelAbove9IsRejectedNamingFileAndRecord(@TempDir Path dir) throws IOException {
        writeAll(dir);
        byte[] test = records(100, 3);
        test[2 * 3073] = 10;
        Files.write(dir.resolve("test_batch.bin"), test);
        var e = assertThrows(Idx.FormatException.class, () -> Cifar10.load(dir, Cifar10.Split.TEST));
        assertTrue(e.getMessage().contains("test_batch.bin"), e.getMessage());
        assertTrue(e.getMessage().contains("record 2"), e.getMessage());
        assertTrue(e.getMessage().contains("is 10"), e.getMessage());
        // A limit that stops before the bad record does not read it.
        assertEquals(2, Cifar10.load(dir, Cifar10.Split.TEST, 2).size());

        test[2 * 3073] = (byte) 255;
        Files.write(dir.resolve("test_batch.bin"), test);
        e = assertThrows(Idx.FormatException.class, () -> Cifar10.load(dir, Cifar10.Split.TEST));
        assertTrue(e.getMessage().contains("is 255"), e.getMessage());
    }

    @Test
    void aMissingFileIsNamed(@TempDir Path dir) throws IOException {
        writeAll(dir);
        Files.delete(dir.resolve("data_batch_3.bin"));
        var e = assertThrows(NoSuchFileException.class, () -> Cifar10.load(dir, Cifar10.Split.TRAIN));
        assertTrue(e.getMessage().contains("data_batch_3.bin"), e.getMessage());
        assertFalse(Cifar10.present(dir, Cifar10.Split.TRAIN));
    }

    @Test
    void givenStatisticsAreAppliedPerChannel(@TempDir Path dir) throws IOException {
        writeAll(dir);
        Cifar10 raw = Cifar10.load(dir, Cifar10.Split.TRAIN);
        Cifar10 norm = raw.normalized(Cifar10.STATS);
        float[] mean = {0.4914f, 0.4822f, 0.4465f}, std = {0.2470f, 0.2435f, 0.2616f};
        float[] images = new float[3072], labels = new float[1];
        norm.batch(new int[] {7}, images, labels);
        for (int c = 0; c < 3; c++) {
            for (int p = 0; p < PLANE; p += 37) {
                double expected = (pixel(7, c, p) / 255.0 - mean[c]) / std[c];
                assertEquals(expected, images[c * PLANE + p], 1e-5, "channel " + c + " pixel " + p);
            }
        }
        assertEquals(label(7), labels[0]);
        assertThrows(IllegalArgumentException.class,
                () -> raw.normalized(new Normalize(new float[] {0}, new float[] {1})));
    }

    @Test
    void computedStatisticsMatchTheBytesAndStandardise(@TempDir Path dir) throws IOException {
        writeAll(dir);
        Cifar10 raw = Cifar10.load(dir, Cifar10.Split.TRAIN);
        Normalize n = Normalize.compute(raw, 5);   // 5 does not divide 12: a partial last batch
        for (int c = 0; c < 3; c++) {
            double sum = 0, sq = 0;
            for (int r = 0; r < 12; r++) for (int p = 0; p < PLANE; p++) sum += pixel(r, c, p) / 255.0;
            double mean = sum / (12 * PLANE);
            for (int r = 0; r < 12; r++) {
                for (int p = 0; p < PLANE; p++) {
                    double d = pixel(r, c, p) / 255.0 - mean;
                    sq += d * d;
                }
            }
            assertEquals(mean, n.mean()[c], 1e-6, "mean of channel " + c);
            assertEquals(Math.sqrt(sq / (12 * PLANE)), n.std()[c], 1e-6, "std of channel " + c);
        }
        Normalize after = Normalize.compute(raw.normalized(n));
        for (int c = 0; c < 3; c++) {
            assertEquals(0, after.mean()[c], 1e-5);
            assertEquals(1, after.std()[c], 1e-5);
        }
    }

    @Test
    void badBatchArgumentsAreRejected(@TempDir Path dir) throws IOException {
        writeAll(dir);
        Cifar10 test = Cifar10.load(dir, Cifar10.Split.TEST);
        assertThrows(IndexOutOfBoundsException.class, () -> test.batch(new int[] {3}, new float[3072], new float[1]));
        assertThrows(IllegalArgumentException.class, () -> test.batch(new int[] {0, 1}, new float[3072],
                new float[2]));
    }
}
