package dev.stride.zoo.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * CIFAR-10 in its binary distribution ({@code cifar-10-binary.tar.gz}, unpacked): files of 3073-byte records,
 * each one label byte 0..9 followed by the 32x32 red, green and blue planes, row-major. The training split is
 * {@code data_batch_1.bin .. data_batch_5.bin} (10000 records each), the test split {@code test_batch.bin}.
 * The directory may hold the files or the {@code cifar-10-batches-bin} folder of the archive.
 *
 * <p>The record layout is already NCHW, so pixels stay as bytes in memory (150 MB for the training set) and are
 * converted per batch through a per-channel lookup table, which also applies the normalisation.
 */
public final class Cifar10 implements Batches.Dataset {
    public static final int CLASSES = 10;
    public static final int SIDE = 32, CHANNELS = 3;
    public static final int IMAGE_BYTES = CHANNELS * SIDE * SIDE;
    public static final int RECORD_BYTES = 1 + IMAGE_BYTES;
    /** The archive's folder name, looked into when the given directory does not hold the files itself. */
    public static final String FOLDER = "cifar-10-batches-bin";
    public static final List<String> CLASS_NAMES = List.of("airplane", "automobile", "bird", "cat", "deer", "dog",
            "frog", "horse", "ship", "truck");
    /**
     * Per-channel mean and population std of the training pixels in [0,1], the usual CIFAR-10 normalisation.
     * (Some code uses std 0.2023, 0.1994, 0.2010, which are means of per-image stds, not the pixel std.)
     */
    public static final Normalize STATS = new Normalize(new float[] {0.4914f, 0.4822f, 0.4465f},
            new float[] {0.2470f, 0.2435f, 0.2616f});

    public enum Split {
        TRAIN("data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"),
        TEST("test_batch.bin");

        final List<String> files;

        Split(String... files) { this.files = List.of(files); }

        public List<String> files() { return files; }
    }

    private final byte[] pixels;
    private final byte[] labels;
    private final int count;
    private final Normalize normalize;
    /** {@code table[c * 256 + b]}: the float a byte {@code b} of channel {@code c} becomes. */
    private final float[] table;

    private Cifar10(byte[] pixels, byte[] labels, int count, Normalize normalize) {
        this.pixels = pixels;
        this.labels = labels;
        this.count = count;
        this.normalize = normalize;
        table = new float[CHANNELS * 256];
        for (int c = 0; c < CHANNELS; c++) {
            for (int b = 0; b < 256; b++) {
                float x = b / 255f;
                table[c * 256 + b] = normalize == null ? x : normalize.apply(c, x);
            }
        }
    }

    /** Loads every record of {@code split} with pixels in [0,1]. */
    public static Cifar10 load(Path dir, Split split) throws IOException { return load(dir, split, 0); }

    /**
     * Loads {@code split} with pixels in [0,1]; {@code limit <= 0} keeps every record, otherwise the first
     * {@code limit} (in file order). Every file's size must be a positive multiple of {@value #RECORD_BYTES} and
     * every label kept must be 0..9, or an {@link Idx.FormatException} names the file and the problem.
     */
    public static Cifar10 load(Path dir, Split split, int limit) throws IOException {
        Path base = locate(dir, split);
        List<Path> files = new ArrayList<>();
        List<Long> records = new ArrayList<>();
        long total = 0;
        for (String name : split.files) {
            Path f = base.resolve(name);
            if (!Files.isRegularFile(f)) throw new NoSuchFileException(f.toString(), null, "CIFAR-10 " + split
                    + " file missing");
            long size = Files.size(f);
            if (size == 0 || size % RECORD_BYTES != 0)
                throw new Idx.FormatException(name + ": size is " + size + " bytes, expected a positive multiple of "
                        + RECORD_BYTES + " (1 label byte + " + IMAGE_BYTES + " pixel bytes per record); "
                        + (size % RECORD_BYTES) + " bytes left over");
            files.add(f);
            records.add(size / RECORD_BYTES);
            total += size / RECORD_BYTES;
        }
        long keep = limit <= 0 ? total : Math.min(limit, total);
        // The sizes are checked against the files; the product is what must fit in one array.
        if (keep * IMAGE_BYTES > Idx.MAX_PAYLOAD)
            throw new Idx.FormatException(split + ": " + keep + " records of " + IMAGE_BYTES + " pixel bytes exceed "
                    + Idx.MAX_PAYLOAD + ", the largest supported array; pass a limit");
        byte[] pixels = new byte[(int) keep * IMAGE_BYTES];
        byte[] labels = new byte[(int) keep];
        byte[] record = new byte[RECORD_BYTES];
        int at = 0;
        for (int k = 0; k < files.size() && at < keep; k++) {
            Path f = files.get(k);
            String name = String.valueOf(f.getFileName());
            long n = Math.min(records.get(k), keep - at);
            try (InputStream in = new BufferedInputStream(Files.newInputStream(f), 1 << 16)) {
                for (int r = 0; r < n; r++, at++) {
                    int got = in.readNBytes(record, 0, RECORD_BYTES);
                    if (got < RECORD_BYTES)   // the file shrank since its size was read
                        throw new Idx.FormatException(name + ": record " + r + " ends after " + got + " of "
                                + RECORD_BYTES + " bytes");
                    int label = record[0] & 0xff;
                    if (label >= CLASSES)
                        throw new Idx.FormatException(name + ": label of record " + r + " (byte offset "
                                + (long) r * RECORD_BYTES + ") is " + label + ", expected 0 to " + (CLASSES - 1));
                    labels[at] = record[0];
                    System.arraycopy(record, 1, pixels, at * IMAGE_BYTES, IMAGE_BYTES);
                }
            }
        }
        return new Cifar10(pixels, labels, (int) keep, null);
    }

    /** Whether {@code dir} (or its {@value #FOLDER} folder) holds every file of {@code split}. */
    public static boolean present(Path dir, Split split) {
        for (Path base : new Path[] {dir, dir.resolve(FOLDER)}) {
            if (split.files.stream().allMatch(f -> Files.isRegularFile(base.resolve(f)))) return true;
        }
        return false;
    }

    private static Path locate(Path dir, Split split) {
        Path nested = dir.resolve(FOLDER);
        boolean here = Files.isRegularFile(dir.resolve(split.files.getFirst()));
        return !here && Files.isRegularFile(nested.resolve(split.files.getFirst())) ? nested : dir;
    }

    /** The same samples standardised by {@code n} (3 channels), sharing the bytes; {@code null} for [0,1]. */
    public Cifar10 normalized(Normalize n) {
        if (n != null && n.channels() != CHANNELS)
            throw new IllegalArgumentException("CIFAR-10 has 3 channels, the normalisation " + n.channels());
        return new Cifar10(pixels, labels, count, n);
    }

    /** The normalisation applied, or {@code null}. */
    public Normalize normalization() { return normalize; }

    @Override public int size() { return count; }

    @Override public int[] imageShape() { return new int[] {CHANNELS, SIDE, SIDE}; }

    public int label(int i) { return labels[i] & 0xff; }

    /** Raw byte 0..255 of image {@code i}, channel {@code c} (0 red, 1 green, 2 blue), row {@code y}, column {@code x}. */
    public int raw(int i, int c, int y, int x) { return pixels[i * IMAGE_BYTES + (c * SIDE + y) * SIDE + x] & 0xff; }

    @Override public void batch(int[] indices, float[] images, float[] labels) {
        if (images.length < (long) indices.length * IMAGE_BYTES || labels.length < indices.length)
            throw new IllegalArgumentException("batch of " + indices.length + " needs " + indices.length * IMAGE_BYTES
                    + " image floats and " + indices.length + " label floats, got " + images.length + " and "
                    + labels.length);
        int plane = SIDE * SIDE;
        for (int b = 0; b < indices.length; b++) {
            int i = indices[b];
            if (i < 0 || i >= count)
                throw new IndexOutOfBoundsException("sample " + i + " at batch position " + b + ", size " + count);
            int src = i * IMAGE_BYTES, dst = b * IMAGE_BYTES;
            for (int c = 0; c < CHANNELS; c++) {
                int t = c * 256, o = c * plane;
                for (int p = 0; p < plane; p++) images[dst + o + p] = table[t + (pixels[src + o + p] & 0xff)];
            }
            labels[b] = label(i);
        }
    }
}
