package dev.stride.zoo.data;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;

import static dev.stride.zoo.data.IdxBytes.gzip;
import static dev.stride.zoo.data.IdxBytes.idx;
import static dev.stride.zoo.data.IdxBytes.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Mnist} on the real MNIST and Fashion-MNIST files (skipped, with the places searched, where they are
 * absent) and on small generated copies for the error paths. Expected values come from the raw files, read here
 * with nothing but {@link GZIPInputStream}, never from {@link Mnist} or {@link Idx}.
 */
class MnistTest {
    static final int PIXELS = 28 * 28;

    // ---- locating the shared data ----

    private static final List<Path> SEARCHED = new ArrayList<>();
    private static final Path SHARED_DATA = locate();

    /**
     * The shared data folder: walking up from the working directory (the module directory under Maven), the first
     * directory D with a sibling {@code shared/data/mnist}. In a worktree that is {@code /work/wt/shared}; in CI,
     * a repository cloned at {@code X/main} finds {@code X/shared}.
     */
    private static Path locate() {
        for (Path d = Path.of(System.getProperty("user.dir")).toAbsolutePath(); d != null && d.getParent() != null;
             d = d.getParent()) {
            Path candidate = d.resolveSibling("shared").resolve("data");
            SEARCHED.add(candidate.resolve("mnist"));
            if (Files.isDirectory(candidate.resolve("mnist"))) return candidate;
        }
        return null;
    }

    private static Path dataset(String name) {
        Assumptions.assumeTrue(SHARED_DATA != null, "no shared/data/mnist beside any parent of user.dir "
                + System.getProperty("user.dir") + "; looked in " + SEARCHED);
        Path dir = SHARED_DATA.resolve(name);
        Assumptions.assumeTrue(Mnist.present(dir, Mnist.Split.TRAIN) && Mnist.present(dir, Mnist.Split.TEST),
                "the four IDX files are not all in " + dir);
        return dir;
    }

    /** The uncompressed bytes of a gzipped file, read independently of the code under test. */
    private static byte[] gunzip(Path file, int limit) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(file))) {
            return in.readNBytes(limit);
        }
    }

    private static int bigEndianInt(byte[] b, int at) {
        return ((b[at] & 0xff) << 24) | ((b[at + 1] & 0xff) << 16) | ((b[at + 2] & 0xff) << 8) | (b[at + 3] & 0xff);
    }

    private static Mnist mnistTrain, fashionTrain;

    private static synchronized Mnist mnistTrain() throws IOException {
        if (mnistTrain == null) mnistTrain = Mnist.load(dataset("mnist"), Mnist.Split.TRAIN, 0);
        return mnistTrain;
    }

    private static synchronized Mnist fashionTrain() throws IOException {
        if (fashionTrain == null) fashionTrain = Mnist.load(dataset("fashion-mnist"), Mnist.Split.TRAIN, 0);
        return fashionTrain;
    }

    // ---- the real files ----

    @Test
    void mnistSizesShapesAndLabelsMatchTheRawFiles() throws IOException {
        Path dir = dataset("mnist");
        Mnist train = mnistTrain();
        Mnist test = Mnist.load(dir, Mnist.Split.TEST, 0);
        assertEquals(60000, train.size());
        assertEquals(10000, test.size());
        assertArrayEquals(new int[] {1, 28, 28}, train.imageShape());
        assertArrayEquals(new int[] {1, 28, 28}, test.imageShape());
        assertEquals(5, train.label(0), "the famous first MNIST digit is a 5");
        assertLabelsMatchRaw(train, dir.resolve("train-labels-idx1-ubyte.gz"));
        assertLabelsMatchRaw(test, dir.resolve("t10k-labels-idx1-ubyte.gz"));
    }

    @Test
    void fashionMnistFirstLabelsAreAnkleBootThenTwoTShirts() throws IOException {
        Path dir = dataset("fashion-mnist");
        byte[] raw = gunzip(dir.resolve("train-labels-idx1-ubyte.gz"), 11);
        assertEquals(0x0801, bigEndianInt(raw, 0), "label file magic");
        assertEquals(60000, bigEndianInt(raw, 4));
        // The published order starts 9 (ankle boot), 0 (T-shirt/top), 0.
        assertArrayEquals(new byte[] {9, 0, 0}, Arrays.copyOfRange(raw, 8, 11));
        Mnist train = fashionTrain();
        assertEquals(60000, train.size());
        assertEquals(List.of(9, 0, 0), List.of(train.label(0), train.label(1), train.label(2)));
        assertLabelsMatchRaw(train, dir.resolve("train-labels-idx1-ubyte.gz"));
        assertEquals(10000, Mnist.load(dir, Mnist.Split.TEST, 0).size());
    }

    private static void assertLabelsMatchRaw(Mnist data, Path labelFile) throws IOException {
        byte[] raw = gunzip(labelFile, Integer.MAX_VALUE);
        assertEquals(data.size(), bigEndianInt(raw, 4));
        assertEquals(8 + data.size(), raw.length);
        for (int i = 0; i < data.size(); i++) assertEquals(raw[8 + i] & 0xff, data.label(i), "label " + i);
    }

    @Test
    void pixelsAreRawBytesOver255() throws IOException {
        Path dir = dataset("mnist");
        Mnist train = mnistTrain();
        int images = 50;
        byte[] raw = gunzip(dir.resolve("train-images-idx3-ubyte.gz"), 16 + images * PIXELS);
        assertEquals(0x0803, bigEndianInt(raw, 0));
        assertEquals(List.of(60000, 28, 28), List.of(bigEndianInt(raw, 4), bigEndianInt(raw, 8), bigEndianInt(raw, 12)));
        for (int i = 0; i < images; i++) {
            for (int p = 0; p < PIXELS; p++)
                assertEquals((raw[16 + i * PIXELS + p] & 0xff) / 255f, train.pixel(i, p), "image " + i + " pixel " + p);
        }
    }

    @Test
    void unnormalisedPixelsSpanZeroToOne() throws IOException {
        for (Mnist data : List.of(mnistTrain(), fashionTrain())) {
            float min = Float.MAX_VALUE, max = -Float.MAX_VALUE;
            for (int i = 0; i < data.size(); i++) {
                for (int p = 0; p < PIXELS; p++) {
                    float v = data.pixel(i, p);
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                }
            }
            assertEquals(0f, min);
            assertEquals(1f, max);
        }
    }

    @Test
    void normalisedMnistTrainingPixelsHaveMeanZeroAndStdOne() throws IOException {
        Mnist data = Mnist.load(dataset("mnist"), Mnist.Split.TRAIN, 0, true);
        double sum = 0, sumSq = 0;
        long n = (long) data.size() * PIXELS;
        for (int i = 0; i < data.size(); i++) {
            for (int p = 0; p < PIXELS; p++) {
                double v = data.pixel(i, p);
                sum += v;
                sumSq += v * v;
            }
        }
        double mean = sum / n, std = Math.sqrt(sumSq / n - mean * mean);
        // MEAN and STD are the training set's statistics to 4 digits, so what is left is rounding.
        assertEquals(0, mean, 1e-3, "mean");
        assertEquals(1, std, 1e-3, "std");
    }

    @Test
    void limitKeepsTheFirstSamples() throws IOException {
        Path dir = dataset("mnist");
        Mnist full = mnistTrain();
        Mnist first = Mnist.load(dir, Mnist.Split.TRAIN, 100);
        assertEquals(100, first.size());
        for (int i = 0; i < 100; i++) {
            assertEquals(full.label(i), first.label(i));
            for (int p = 0; p < PIXELS; p++) assertEquals(full.pixel(i, p), first.pixel(i, p));
        }
        assertThrows(IndexOutOfBoundsException.class, () -> first.batch(new int[] {100}, new float[PIXELS], new float[1]));
        assertEquals(10000, Mnist.load(dir, Mnist.Split.TEST, 20000).size(), "a limit above the size keeps all");
    }

    @Test
    void batchWritesNchwInIndexOrder() throws IOException {
        Path dir = dataset("mnist");
        byte[] rawImages = gunzip(dir.resolve("t10k-images-idx3-ubyte.gz"), Integer.MAX_VALUE);
        byte[] rawLabels = gunzip(dir.resolve("t10k-labels-idx1-ubyte.gz"), Integer.MAX_VALUE);
        for (boolean normalize : new boolean[] {false, true}) {
            Mnist test = Mnist.load(dir, Mnist.Split.TEST, 0, normalize);
            int[] idx = {9999, 0, 5, 5, 1234};
            // Longer than needed: the tail must stay untouched.
            float[] images = new float[idx.length * PIXELS + 7], labels = new float[idx.length + 3];
            Arrays.fill(images, Float.NaN);
            Arrays.fill(labels, Float.NaN);
            test.batch(idx, images, labels);
            for (int b = 0; b < idx.length; b++) {
                assertEquals(rawLabels[8 + idx[b]] & 0xff, labels[b], "label at batch position " + b);
                for (int p = 0; p < PIXELS; p++) {
                    float x = (rawImages[16 + idx[b] * PIXELS + p] & 0xff) / 255f;
                    float want = normalize ? (x - Mnist.MEAN) / Mnist.STD : x;
                    assertEquals(want, images[b * PIXELS + p], 1e-6f, "batch " + b + " pixel " + p);
                }
            }
            for (int k = idx.length * PIXELS; k < images.length; k++) assertTrue(Float.isNaN(images[k]));
            for (int k = idx.length; k < labels.length; k++) assertTrue(Float.isNaN(labels[k]));
        }
    }

    // ---- small generated files: layout and error paths ----

    @TempDir Path tmp;

    /** Writes a 2x3 "dataset" of {@code n} images and the given labels under the usual training-set names. */
    private Path writeSet(int n, int[] labels, boolean gz) throws IOException {
        byte[] px = new byte[n * 6];
        for (int k = 0; k < px.length; k++) px[k] = (byte) (k * 51);
        byte[] lb = new byte[labels.length];
        for (int k = 0; k < labels.length; k++) lb[k] = (byte) labels[k];
        byte[] images = idx(new int[] {n, 2, 3}, px), labelFile = idx(new int[] {labels.length}, lb);
        String ext = gz ? ".gz" : "";
        write(tmp, "train-images-idx3-ubyte" + ext, gz ? gzip(images) : images);
        write(tmp, "train-labels-idx1-ubyte" + ext, gz ? gzip(labelFile) : labelFile);
        return tmp;
    }

    @Test
    void smallSetLoadsRawOrGzippedWithItsShape() throws IOException {
        for (boolean gz : new boolean[] {false, true}) {
            Path dir = Files.createDirectory(tmp.resolve("set-" + gz));
            byte[] px = {0, (byte) 255, 51, 102, (byte) 153, (byte) 204, 1, 2, 3, 4, 5, 6};
            byte[] images = idx(new int[] {2, 2, 3}, px), labels = idx(new int[] {2}, new byte[] {7, 9});
            write(dir, "train-images-idx3-ubyte" + (gz ? ".gz" : ""), gz ? gzip(images) : images);
            write(dir, "train-labels-idx1-ubyte" + (gz ? ".gz" : ""), gz ? gzip(labels) : labels);
            assertTrue(Mnist.present(dir, Mnist.Split.TRAIN));
            assertFalse(Mnist.present(dir, Mnist.Split.TEST));
            Mnist m = Mnist.load(dir, Mnist.Split.TRAIN, 0);
            assertEquals(2, m.size());
            assertArrayEquals(new int[] {1, 2, 3}, m.imageShape());
            assertEquals(List.of(7, 9), List.of(m.label(0), m.label(1)));
            assertEquals(1f, m.pixel(0, 1));
            assertEquals(0.2f, m.pixel(0, 2), 1e-7f);
            assertEquals(6 / 255f, m.pixel(1, 5));
        }
    }

    @Test
    void rawFileIsPreferredOverGzipped() throws IOException {
        write(tmp, "train-images-idx3-ubyte", idx(new int[] {1, 1, 1}, new byte[] {0}));
        write(tmp, "train-labels-idx1-ubyte", idx(new int[] {1}, new byte[] {3}));
        write(tmp, "train-labels-idx1-ubyte.gz", gzip(idx(new int[] {1}, new byte[] {4})));
        assertEquals(3, Mnist.load(tmp, Mnist.Split.TRAIN, 0).label(0));
    }

    @Test
    void labelTenNamesFileAndIndex() throws IOException {
        for (boolean gz : new boolean[] {false, true}) {
            Path dir = writeSet(5, new int[] {0, 9, 1, 10, 2}, gz);
            var e = assertThrows(Idx.FormatException.class, () -> Mnist.load(dir, Mnist.Split.TRAIN, 0));
            String file = "train-labels-idx1-ubyte" + (gz ? ".gz" : "");
            assertTrue(e.getMessage().startsWith(file + ": label 3 is 10, expected 0 to 9"), e.getMessage());
            Files.delete(dir.resolve("train-images-idx3-ubyte" + (gz ? ".gz" : "")));
            Files.delete(dir.resolve(file));
        }
    }

    @Test
    void labelCheckCoversEverySampleEvenWithALimit() throws IOException {
        // The file is rejected as a whole, not only the part a limit keeps.
        Path dir = writeSet(4, new int[] {0, 1, 2, 255}, false);
        var e = assertThrows(Idx.FormatException.class, () -> Mnist.load(dir, Mnist.Split.TRAIN, 2));
        assertTrue(e.getMessage().contains("label 3 is 255"), e.getMessage());
    }

    @Test
    void countMismatchNamesBothFiles() throws IOException {
        Path dir = writeSet(5, new int[] {0, 1, 2, 3}, false);
        var e = assertThrows(Idx.FormatException.class, () -> Mnist.load(dir, Mnist.Split.TRAIN, 0));
        assertTrue(e.getMessage().startsWith("train-labels-idx1-ubyte: 4 labels, expected 5"), e.getMessage());
        assertTrue(e.getMessage().contains("train-images-idx3-ubyte"), e.getMessage());
    }

    @Test
    void wrongRanksAreRejected() throws IOException {
        write(tmp, "train-images-idx3-ubyte", idx(new int[] {2, 6}, new byte[12]));
        write(tmp, "train-labels-idx1-ubyte", idx(new int[] {2}, new byte[2]));
        var e = assertThrows(Idx.FormatException.class, () -> Mnist.load(tmp, Mnist.Split.TRAIN, 0));
        assertTrue(e.getMessage().startsWith("train-images-idx3-ubyte: rank is 2 [2, 6], expected 3"), e.getMessage());

        write(tmp, "train-images-idx3-ubyte", idx(new int[] {2, 1, 1}, new byte[2]));
        write(tmp, "train-labels-idx1-ubyte", idx(new int[] {2, 1}, new byte[2]));
        e = assertThrows(Idx.FormatException.class, () -> Mnist.load(tmp, Mnist.Split.TRAIN, 0));
        assertTrue(e.getMessage().startsWith("train-labels-idx1-ubyte: rank is 2 [2, 1], expected 1"), e.getMessage());
    }

    @Test
    void missingDirectoryNamesTheImageFile() {
        Path nowhere = tmp.resolve("no-such-dir");
        var e = assertThrows(NoSuchFileException.class, () -> Mnist.load(nowhere, Mnist.Split.TEST, 0));
        assertEquals(nowhere.resolve("t10k-images-idx3-ubyte").toString(), e.getFile());
        assertTrue(e.getMessage().contains("t10k-images-idx3-ubyte.gz"), e.getMessage());
        assertFalse(Mnist.present(nowhere, Mnist.Split.TEST));
    }

    @Test
    void missingLabelFileIsNamed() throws IOException {
        write(tmp, "t10k-images-idx3-ubyte.gz", gzip(idx(new int[] {1, 1, 1}, new byte[1])));
        var e = assertThrows(NoSuchFileException.class, () -> Mnist.load(tmp, Mnist.Split.TEST, 0));
        assertEquals(tmp.resolve("t10k-labels-idx1-ubyte").toString(), e.getFile());
        assertFalse(Mnist.present(tmp, Mnist.Split.TEST));
    }

    @Test
    void batchRejectsShortArraysAndBadIndices() throws IOException {
        Mnist m = Mnist.load(writeSet(3, new int[] {1, 2, 3}, false), Mnist.Split.TRAIN, 0);
        assertThrows(IllegalArgumentException.class, () -> m.batch(new int[] {0, 1}, new float[11], new float[2]));
        assertThrows(IllegalArgumentException.class, () -> m.batch(new int[] {0, 1}, new float[12], new float[1]));
        assertThrows(IndexOutOfBoundsException.class, () -> m.batch(new int[] {3}, new float[6], new float[1]));
        assertThrows(IndexOutOfBoundsException.class, () -> m.batch(new int[] {-1}, new float[6], new float[1]));
    }
}
