package dev.stride.zoo.data;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NormalizeTest {
    /**
     * {@code n} images of {@code [channels, 4, 5]}: channel c is {@code offset + c * 3 + (c + 1) * u}, u uniform
     * in [0,1). All values are precomputed, so the test reads them without the dataset.
     */
    record Fixed(float[] values, int n, int channels, float[] labels) implements Batches.Dataset {
        static Fixed random(int n, int channels, double offset, long seed) {
            var rnd = new SplittableRandom(seed);
            int per = channels * 20;
            float[] v = new float[n * per], l = new float[n];
            for (int i = 0; i < n; i++) {
                l[i] = i % 3;
                for (int c = 0; c < channels; c++) {
                    for (int p = 0; p < 20; p++) v[i * per + c * 20 + p] = (float) (offset + c * 3 + (c + 1) * rnd.nextDouble());
                }
            }
            return new Fixed(v, n, channels, l);
        }

        @Override public int size() { return n; }

        @Override public int[] imageShape() { return new int[] {channels, 4, 5}; }

        @Override public void batch(int[] indices, float[] images, float[] labels) {
            int per = channels * 20;
            for (int b = 0; b < indices.length; b++) {
                System.arraycopy(values, indices[b] * per, images, b * per, per);
                labels[b] = this.labels[indices[b]];
            }
        }

        /** Two-pass mean and population std of channel c over everything, in double. */
        double[] stats(int c) {
            int per = channels * 20;
            double sum = 0, sq = 0;
            for (int i = 0; i < n; i++) for (int p = 0; p < 20; p++) sum += values[i * per + c * 20 + p];
            double mean = sum / (n * 20.0);
            for (int i = 0; i < n; i++) {
                for (int p = 0; p < 20; p++) {
                    double d = values[i * per + c * 20 + p] - mean;
                    sq += d * d;
                }
            }
            return new double[] {mean, Math.sqrt(sq / (n * 20.0))};
        }
    }

    @Property(tries = 30)
    void computeMatchesTwoPassStatisticsForAnyBatchSize(@ForAll @IntRange(min = 1, max = 60) int n,
                                                        @ForAll @IntRange(min = 1, max = 4) int channels,
                                                        @ForAll @IntRange(min = 1, max = 70) int batchSize) {
        // A large offset: a naive sum-of-squares formula would lose the variance to cancellation in float.
        Fixed data = Fixed.random(n, channels, 1000, n * 31L + channels);
        Normalize norm = Normalize.compute(data, batchSize);
        for (int c = 0; c < channels; c++) {
            double[] s = data.stats(c);
            assertEquals(s[0], norm.mean()[c], 1e-4, "mean of channel " + c);
            assertEquals(s[1], norm.std()[c], 1e-5 * Math.max(1, s[1]), "std of channel " + c);
        }
    }

    @Test
    void standardisedDataHasMean0AndStd1() {
        Fixed data = Fixed.random(200, 3, -7, 11);
        Batches.Dataset wrapped = Normalize.compute(data).wrap(data);
        int per = 60;
        float[] images = new float[200 * per], labels = new float[200];
        int[] all = new int[200];
        for (int i = 0; i < 200; i++) all[i] = i;
        wrapped.batch(all, images, labels);
        for (int c = 0; c < 3; c++) {
            double sum = 0, sq = 0;
            for (int i = 0; i < 200; i++) for (int p = 0; p < 20; p++) sum += images[i * per + c * 20 + p];
            double mean = sum / 4000;
            for (int i = 0; i < 200; i++) {
                for (int p = 0; p < 20; p++) sq += Math.pow(images[i * per + c * 20 + p] - mean, 2);
            }
            assertEquals(0, mean, 1e-5, "mean of channel " + c);
            assertEquals(1, Math.sqrt(sq / 4000), 1e-5, "std of channel " + c);
        }
        assertArrayEquals(data.labels, labels);   // labels pass through
    }

    @Test
    void applyIsXMinusMeanOverStd() {
        var n = new Normalize(new float[] {1, -2}, new float[] {2, 0.5f});
        float[] img = {9, 9, 3, 5, 0, -2, -1, 1};   // pad, then 1 image of 2 channels x 3 pixels
        n.apply(img, 2, 1, 3);
        assertArrayEquals(new float[] {9, 9, 1, 2, -0.5f, 0, 2, 6}, img, 1e-6f);
        assertEquals(1.5f, n.apply(0, 4), 1e-6f);
    }

    @Test
    void theEpochIsForwarded() {
        var seen = new int[1];
        Batches.Dataset d = new Batches.Dataset() {
            public int size() { return 1; }

            public int[] imageShape() { return new int[] {1, 1, 1}; }

            public void batch(int[] indices, float[] images, float[] labels) { throw new AssertionError(); }

            @Override public void batch(int epoch, int[] indices, float[] images, float[] labels) {
                seen[0] = epoch;
                images[0] = 3;
            }
        };
        float[] img = new float[1];
        new Normalize(new float[] {1}, new float[] {2}).wrap(d).batch(7, new int[] {0}, img, new float[1]);
        assertEquals(7, seen[0]);
        assertEquals(1, img[0]);
    }

    @Test
    void invalidStatisticsAreRejected() {
        var e = assertThrows(IllegalArgumentException.class, () -> new Normalize(new float[] {0, 0}, new float[] {1, 0}));
        assertTrue(e.getMessage().contains("channel 1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Normalize(new float[] {0}, new float[] {1, 1}));
        assertThrows(IllegalArgumentException.class, () -> new Normalize(new float[0], new float[0]));
        assertThrows(IllegalArgumentException.class, () -> new Normalize(new float[] {Float.NaN}, new float[] {1}));
        assertThrows(IllegalArgumentException.class, () -> new Normalize(new float[] {0}, new float[] {Float.NaN}));
        // A constant channel has std 0.
        Fixed constant = new Fixed(new float[20], 1, 1, new float[1]);
        e = assertThrows(IllegalArgumentException.class, () -> Normalize.compute(constant));
        assertTrue(e.getMessage().contains("constant"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Normalize.compute(new Fixed(new float[0], 0, 1, new float[0])));
        var three = new Normalize(new float[] {0, 0, 0}, new float[] {1, 1, 1});
        assertThrows(IllegalArgumentException.class, () -> three.wrap(Fixed.random(2, 1, 0, 1)));
    }
}
