package dev.stride.zoo.data;

/**
 * A dataset whose images pass through an {@link Augment}, with the parameters of sample {@code i} in epoch
 * {@code e} drawn from {@code (seed, e, i)}. Labels pass through unchanged. Epochs reach it through
 * {@link Batches.Dataset#batch(int, int[], float[], float[])} (as {@link Prefetcher} calls it); the plain
 * {@code batch} is epoch 0.
 */
public final class AugmentedDataset implements Batches.Dataset {
    private final Batches.Dataset data;
    private final Augment augment;
    private final long seed;
    private final int[] in, out;

    public AugmentedDataset(Batches.Dataset data, Augment augment, long seed) {
        this.data = data;
        this.augment = augment;
        this.seed = seed;
        in = data.imageShape();
        out = augment.outputShape(in);
    }

    public Batches.Dataset source() { return data; }

    public Augment augment() { return augment; }

    @Override public int size() { return data.size(); }

    @Override public int[] imageShape() { return out.clone(); }

    @Override public void batch(int[] indices, float[] images, float[] labels) { batch(0, indices, images, labels); }

    @Override public void batch(int epoch, int[] indices, float[] images, float[] labels) {
        int inPer = in[0] * in[1] * in[2], outPer = out[0] * out[1] * out[2];
        if (images.length < (long) indices.length * outPer || labels.length < indices.length)
            throw new IllegalArgumentException("batch of " + indices.length + " needs " + (long) indices.length
                    * outPer + " image floats and " + indices.length + " label floats, got " + images.length
                    + " and " + labels.length);
        // The source batch goes to its own array: a crop may change the image size, and the steps need the
        // source and destination apart anyway.
        float[] raw = new float[Math.multiplyExact(indices.length, inPer)];
        data.batch(epoch, indices, raw, labels);
        float[] scratch = new float[2 * inPer];
        for (int b = 0; b < indices.length; b++) {
            Augment.Params p = augment.draw(seed, epoch, indices[b], in[1], in[2]);
            augment.apply(p, raw, b * inPer, in[0], in[1], in[2], images, b * outPer, scratch);
        }
    }
}
