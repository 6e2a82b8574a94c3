package dev.stride.zoo.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Mini-batches of sample indices: a fresh shuffle per epoch, derived from one seed and the epoch number so that
 * epoch {@code e} is the same whatever ran before it; fixed batch size; the last partial batch kept or dropped.
 *
 * <pre>{@code
 * var batches = new Batches(data.size(), 64, true, seed);
 * for (int[] idx : batches.epoch(e)) data.batch(idx, images, labels);
 * }</pre>
 */
public final class Batches {
    /** A labelled image dataset that fills batches by index ({@link Mnist}, {@link GeneratedDigits}). */
    public interface Dataset {
        int size();

        /** Channels, height and width of one image. */
        int[] imageShape();

        /**
         * Writes the images at {@code indices} as NCHW {@code [B, C, H, W]} into {@code images} and their class
         * indices (as floats) into {@code labels}, {@code B = indices.length}. The arrays may be longer.
         */
        void batch(int[] indices, float[] images, float[] labels);

        /**
         * As {@link #batch(int[], float[], float[])}, for epoch {@code epoch}. Datasets whose samples vary per epoch
         * ({@link AugmentedDataset}) override this; the default ignores the epoch. Wrappers forward it.
         */
        default void batch(int epoch, int[] indices, float[] images, float[] labels) {
            batch(indices, images, labels);
        }

        /** Floats of one image, {@code C * H * W}. */
        default int imageSize() {
            int n = 1;
            for (int d : imageShape()) n = Math.multiplyExact(n, d);
            return n;
        }
    }

    private final int size;
    private final int batchSize;
    private final boolean dropLast;
    private final long seed;

    /**
     * @param size      number of samples
     * @param batchSize samples per batch
     * @param dropLast  drop the final batch when it has fewer than {@code batchSize} samples
     * @param seed      shuffle seed; each epoch mixes in its number
     */
    public Batches(int size, int batchSize, boolean dropLast, long seed) {
        if (size < 0) throw new IllegalArgumentException("size " + size + " must be >= 0");
        if (batchSize < 1) throw new IllegalArgumentException("batch size " + batchSize + " must be >= 1");
        this.size = size;
        this.batchSize = batchSize;
        this.dropLast = dropLast;
        this.seed = seed;
    }

    public int batchSize() { return batchSize; }

    /** Batches per epoch. */
    public int count() {
        // Not (size + batchSize - 1) / batchSize: that sum overflows for a batch size near Integer.MAX_VALUE
        // (the natural "everything in one batch"), giving a negative count and an empty epoch.
        return size / batchSize + (dropLast || size % batchSize == 0 ? 0 : 1);
    }

    /** The batches of epoch {@code epoch}: a seeded permutation of 0..size-1 cut into consecutive batches. */
    public List<int[]> epoch(int epoch) {
        int[] order = permutation(size, mix(seed, epoch));
        List<int[]> out = new ArrayList<>(count());
        for (int b = 0; b < count(); b++) {
            int from = b * batchSize;
            out.add(Arrays.copyOfRange(order, from, from + Math.min(batchSize, size - from)));   // no overflow
        }
        return out;
    }

    /** A uniformly random permutation of 0..n-1 (Fisher-Yates), determined by {@code seed}. */
    public static int[] permutation(int n, long seed) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        var rnd = new SplittableRandom(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    /**
     * Expands class indices into one-hot rows: {@code out[b * classes + labels[b]] = 1}, for the first {@code n}
     * labels. Rejects a label outside 0..classes-1.
     */
    public static void oneHot(float[] labels, int n, int classes, float[] out) {
        Arrays.fill(out, 0, n * classes, 0f);
        for (int b = 0; b < n; b++) {
            int c = (int) labels[b];
            if (c != labels[b] || c < 0 || c >= classes)
                throw new IllegalArgumentException("label " + labels[b] + " at " + b + " is not a class 0.."
                        + (classes - 1));
            out[b * classes + c] = 1f;
        }
    }

    /** SplitMix64 finaliser of seed and a counter: independent-looking streams for consecutive counters. */
    static long mix(long seed, long counter) {
        long z = seed + 0x9E3779B97F4A7C15L * (counter + 1);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
