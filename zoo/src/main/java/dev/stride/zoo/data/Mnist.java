package dev.stride.zoo.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * An MNIST-style dataset (MNIST, Fashion-MNIST) from a directory holding the four IDX files under their usual
 * names, gzipped or not: {@code train-images-idx3-ubyte[.gz]}, {@code train-labels-idx1-ubyte[.gz]},
 * {@code t10k-images-idx3-ubyte[.gz]}, {@code t10k-labels-idx1-ubyte[.gz]}. Pixels stay as bytes in memory
 * (47 MB for the training set, a quarter of the floats) and are converted per batch.
 */
public final class Mnist implements Batches.Dataset {
    public static final int CLASSES = 10;
    /** Mean and standard deviation of the MNIST training pixels in [0,1]: the usual normalisation. */
    public static final float MEAN = 0.1307f, STD = 0.3081f;

    public enum Split {
        TRAIN("train"), TEST("t10k");

        final String prefix;

        Split(String prefix) { this.prefix = prefix; }
    }

    private final byte[] pixels;
    private final byte[] labels;
    private final int count, rows, cols;
    private final boolean normalize;

    private Mnist(byte[] pixels, byte[] labels, int count, int rows, int cols, boolean normalize) {
        this.pixels = pixels;
        this.labels = labels;
        this.count = count;
        this.rows = rows;
        this.cols = cols;
        this.normalize = normalize;
    }

    /** Loads a split with pixels in [0,1]; {@code limit <= 0} keeps every sample, otherwise the first {@code limit}. */
    public static Mnist load(Path dir, Split split, int limit) throws IOException {
        return load(dir, split, limit, false);
    }

    /**
     * Loads a split; with {@code normalize}, pixels are {@code (x - MEAN) / STD} instead of {@code x} in [0,1].
     * Checks that images are rank 3, labels rank 1, their counts equal and every label a digit 0..9.
     */
    public static Mnist load(Path dir, Split split, int limit, boolean normalize) throws IOException {
        Path imageFile = find(dir, split.prefix + "-images-idx3-ubyte");
        Path labelFile = find(dir, split.prefix + "-labels-idx1-ubyte");
        Idx.Data images = Idx.read(imageFile);
        Idx.Data labels = Idx.read(labelFile);
        String in = imageFile.getFileName().toString(), ln = labelFile.getFileName().toString();
        if (images.rank() != 3)
            throw new Idx.FormatException(in + ": rank is " + images.rank() + " " + Arrays.toString(images.dims())
                    + ", expected 3 [count, rows, columns]");
        if (labels.rank() != 1)
            throw new Idx.FormatException(ln + ": rank is " + labels.rank() + " " + Arrays.toString(labels.dims())
                    + ", expected 1 [count]");
        int n = images.dims()[0];
        if (labels.dims()[0] != n)
            throw new Idx.FormatException(ln + ": " + labels.dims()[0] + " labels, expected " + n
                    + " (the image count of " + in + ")");
        for (int i = 0; i < n; i++) {
            if (labels.get(i) >= CLASSES)
                throw new Idx.FormatException(ln + ": label " + i + " is " + labels.get(i) + ", expected 0 to "
                        + (CLASSES - 1));
        }
        int keep = limit <= 0 ? n : Math.min(limit, n);
        int pixelsPer = images.dims()[1] * images.dims()[2];
        byte[] px = keep == n ? images.data() : Arrays.copyOf(images.data(), keep * pixelsPer);
        byte[] lb = keep == n ? labels.data() : Arrays.copyOf(labels.data(), keep);
        return new Mnist(px, lb, keep, images.dims()[1], images.dims()[2], normalize);
    }

    /** Whether {@code dir} holds both files of {@code split}, gzipped or not. */
    public static boolean present(Path dir, Split split) {
        for (String kind : new String[] {"-images-idx3-ubyte", "-labels-idx1-ubyte"}) {
            String base = split.prefix + kind;
            if (!Files.isRegularFile(dir.resolve(base)) && !Files.isRegularFile(dir.resolve(base + ".gz")))
                return false;
        }
        return true;
    }

    /** The raw file if present, else the gzipped one. */
    private static Path find(Path dir, String base) throws NoSuchFileException {
        Path raw = dir.resolve(base);
        if (Files.isRegularFile(raw)) return raw;
        Path gz = dir.resolve(base + ".gz");
        if (Files.isRegularFile(gz)) return gz;
        throw new NoSuchFileException(raw.toString(), null, "neither it nor " + gz.getFileName() + " exists");
    }

    @Override public int size() { return count; }

    @Override public int[] imageShape() { return new int[] {1, rows, cols}; }

    public int label(int i) {
        return Byte.toUnsignedInt(labels[i]);
    }

    /** Pixel {@code p} (row-major) of image {@code i}, as the batch stores it. */
    public float pixel(int i, int p) { return value(pixels[i * rows * cols + p]); }

    private float value(byte b) {
        float x = Byte.toUnsignedInt(b) / 255f;
        return normalize ? (x - MEAN) / STD : x;
    }

    @Override public void batch(int[] indices, float[] images, float[] labels) {
        int per = rows * cols;
        if (images.length < (long) indices.length * per || labels.length < indices.length)
            throw new IllegalArgumentException("batch of " + indices.length + " needs " + indices.length * per
                    + " image floats and " + indices.length + " label floats, got " + images.length + " and "
                    + labels.length);
        for (int b = 0; b < indices.length; b++) {
            int i = indices[b];
            if (i < 0 || i >= count)
                throw new IndexOutOfBoundsException("sample " + i + " at batch position " + b + ", size " + count);
            int src = i * per, dst = b * per;
            for (int p = 0; p < per; p++) images[dst + p] = value(pixels[src + p]);
            labels[b] = label(i);
        }
    }
}
