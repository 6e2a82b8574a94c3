package dev.stride.zoo.data;

import java.util.Arrays;

/**
 * Per-channel standardisation {@code x' = (x - mean[c]) / std[c]} of NCHW images: the statistics, their
 * computation over a dataset, and their application in place or as a {@link Batches.Dataset} wrapper.
 *
 * <pre>{@code
 * Normalize n = Normalize.compute(train);            // or new Normalize(mean, std), or Cifar10.STATS
 * Batches.Dataset input = n.wrap(new AugmentedDataset(train, Augment.cifar(), seed));
 * }</pre>
 *
 * Wrapping after augmentation keeps the augmentation's zero fill black rather than the mean colour.
 */
public final class Normalize {
    private final float[] mean;
    private final float[] std;
    /** Per channel: {@code x' = x * scale + shift}, one multiply-add per element. */
    private final float[] scale, shift;

    /** Rejects differing lengths, no channels, a non-finite mean and a std that is not finite and positive. */
    public Normalize(float[] mean, float[] std) {
        if (mean.length != std.length || mean.length == 0)
            throw new IllegalArgumentException("mean has " + mean.length + " channels and std " + std.length
                    + ", expected the same number, at least 1");
        for (int c = 0; c < mean.length; c++) {
            if (!Float.isFinite(mean[c]))
                throw new IllegalArgumentException("mean of channel " + c + " is " + mean[c] + ", expected finite");
            if (!(std[c] > 0) || !Float.isFinite(std[c]))
                throw new IllegalArgumentException("std of channel " + c + " is " + std[c]
                        + ", expected finite and > 0 (a constant channel cannot be standardised)");
        }
        this.mean = mean.clone();
        this.std = std.clone();
        scale = new float[mean.length];
        shift = new float[mean.length];
        for (int c = 0; c < mean.length; c++) {
            scale[c] = 1f / std[c];
            shift[c] = -mean[c] / std[c];
        }
    }

    public int channels() { return mean.length; }

    public float[] mean() { return mean.clone(); }

    public float[] std() { return std.clone(); }

    /**
     * Mean and population standard deviation (divide by N) of each channel over every pixel of every image of
     * {@code data}, read in index order in batches of 256. Each batch's statistics are computed two-pass in
     * double and merged with Chan et al.'s pairwise formula, so a large offset does not cancel the variance.
     *
     * @throws IllegalArgumentException for an empty dataset or a channel with zero variance
     */
    public static Normalize compute(Batches.Dataset data) { return compute(data, 256); }

    public static Normalize compute(Batches.Dataset data, int batchSize) {
        if (batchSize < 1) throw new IllegalArgumentException("batch size " + batchSize + " must be >= 1");
        int n = data.size();
        if (n == 0) throw new IllegalArgumentException("cannot compute statistics of an empty dataset");
        int[] shape = data.imageShape();
        int channels = shape[0], per = data.imageSize(), plane = per / channels;
        int b = Math.min(batchSize, n);
        float[] images = new float[Math.multiplyExact(b, per)];
        float[] labels = new float[b];
        double[] count = new double[channels], mean = new double[channels], m2 = new double[channels];
        for (int from = 0; from < n; from += b) {
            int size = Math.min(b, n - from);
            int[] idx = new int[size];
            for (int k = 0; k < size; k++) idx[k] = from + k;
            data.batch(idx, images, labels);
            for (int c = 0; c < channels; c++) {
                double sum = 0;
                for (int s = 0; s < size; s++) {
                    int o = s * per + c * plane;
                    for (int p = 0; p < plane; p++) sum += images[o + p];
                }
                double nb = (double) size * plane, mb = sum / nb, sq = 0;
                for (int s = 0; s < size; s++) {
                    int o = s * per + c * plane;
                    for (int p = 0; p < plane; p++) {
                        double d = images[o + p] - mb;
                        sq += d * d;
                    }
                }
                double na = count[c], delta = mb - mean[c], total = na + nb;
                mean[c] += delta * nb / total;
                m2[c] += sq + delta * delta * na * nb / total;
                count[c] = total;
            }
        }
        float[] fm = new float[channels], fs = new float[channels];
        for (int c = 0; c < channels; c++) {
            fm[c] = (float) mean[c];
            fs[c] = (float) Math.sqrt(m2[c] / count[c]);
        }
        return new Normalize(fm, fs);
    }

    /** Standardises {@code count} NCHW images of {@code channels} planes of {@code plane} pixels from {@code offset}. */
    public void apply(float[] images, int offset, int count, int plane) {
        int per = channels() * plane;
        for (int s = 0; s < count; s++) {
            for (int c = 0; c < channels(); c++) {
                float a = scale[c], b = shift[c];
                int o = offset + s * per + c * plane;
                for (int p = o; p < o + plane; p++) images[p] = images[p] * a + b;
            }
        }
    }

    /** The value a raw {@code x} of channel {@code c} becomes. */
    public float apply(int c, float x) { return x * scale[c] + shift[c]; }

    /** A view of {@code data} whose batches are standardised; its channel count must be this one's. */
    public Batches.Dataset wrap(Batches.Dataset data) {
        int[] shape = data.imageShape();
        if (shape[0] != channels())
            throw new IllegalArgumentException("dataset images are " + Arrays.toString(shape) + " with " + shape[0]
                    + " channels, the normalisation has " + channels());
        return new Normalized(data, this);
    }

    @Override public String toString() {
        return "Normalize[mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std) + "]";
    }

    private record Normalized(Batches.Dataset data, Normalize n) implements Batches.Dataset {
        @Override public int size() { return data.size(); }

        @Override public int[] imageShape() { return data.imageShape(); }

        @Override public void batch(int[] indices, float[] images, float[] labels) {
            data.batch(indices, images, labels);
            n.apply(images, 0, indices.length, plane());
        }

        @Override public void batch(int epoch, int[] indices, float[] images, float[] labels) {
            data.batch(epoch, indices, images, labels);
            n.apply(images, 0, indices.length, plane());
        }

        private int plane() { return data.imageSize() / n.channels(); }
    }
}
