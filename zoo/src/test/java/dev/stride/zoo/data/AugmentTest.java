package dev.stride.zoo.data;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.DoubleRange;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AugmentTest {
    /** Distinct values in [lo, hi), none of them 0. */
    static float[] random(int n, long seed, double lo, double hi) {
        var rnd = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            do v[i] = (float) (lo + (hi - lo) * rnd.nextDouble()); while (v[i] == 0);
        }
        return v;
    }

    // ---- the steps, against their definitions ----

    @Test
    void flipMirrorsEveryRow() {
        float[] img = {9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 9};   // pad, [2, 2, 3], pad
        Augment.flipHorizontal(img, 1, 2, 2, 3);
        assertArrayEquals(new float[] {9, 3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10, 9}, img);
    }

    @Property(tries = 40)
    void flipTwiceIsTheIdentity(@ForAll @IntRange(min = 1, max = 3) int c, @ForAll @IntRange(min = 1, max = 9) int h,
                                @ForAll @IntRange(min = 1, max = 9) int w) {
        float[] img = random(c * h * w + 3, h * 100 + w, -1, 1), orig = img.clone();
        Augment.flipHorizontal(img, 3, c, h, w);
        if (w > 1) assertFalse(Arrays.equals(orig, img));
        Augment.flipHorizontal(img, 3, c, h, w);
        assertArrayEquals(orig, img);
    }

    @Property(tries = 40)
    void cropWithoutPaddingOfTheFullSizeIsTheIdentity(@ForAll @IntRange(min = 1, max = 3) int c,
                                                      @ForAll @IntRange(min = 1, max = 9) int h,
                                                      @ForAll @IntRange(min = 1, max = 9) int w) {
        float[] img = random(c * h * w, h * 10 + w, -1, 1), out = new float[c * h * w + 2];
        Augment.padCrop(img, 0, c, h, w, 0, 0, 0, h, w, out, 2);
        assertArrayEquals(img, Arrays.copyOfRange(out, 2, out.length));
    }

    @Test
    void padCropPicksTheWindowOfThePaddedImage() {
        float[] img = {1, 2, 3, 4, 5, 6};   // 2 x 3
        float[] out = new float[3 * 2];
        // Padded by 1 it is 4 x 5; the 3 x 2 window at (1, 3) covers rows 0..1 of img, columns 2..3 (3 is padding).
        Augment.padCrop(img, 0, 1, 2, 3, 1, 1, 3, 3, 2, out, 0);
        assertArrayEquals(new float[] {3, 0, 6, 0, 0, 0}, out);
        assertThrows(IllegalArgumentException.class, () -> Augment.padCrop(img, 0, 1, 2, 3, 1, 2, 3, 3, 2, out, 0));
    }

    @Test
    void shiftMovesContentDownAndRight() {
        float[] img = {1, 2, 3, 4, 5, 6, 7, 8, 9}, out = new float[9];
        Augment.shift(img, 0, 1, 3, 3, 1, -1, out, 0);
        assertArrayEquals(new float[] {0, 0, 0, 2, 3, 0, 5, 6, 0}, out);
        Augment.shift(img, 0, 1, 3, 3, 0, 5, out, 0);   // shifted right out of the image entirely
        assertArrayEquals(new float[9], out);
    }

    /** A shift keeps exactly the pixels that land inside and fills the rest with zeros. */
    @Property(tries = 60)
    void shiftsPreserveThePixelMultisetExceptTheBorder(@ForAll @IntRange(min = -4, max = 4) int dy,
                                                       @ForAll @IntRange(min = -4, max = 4) int dx,
                                                       @ForAll @IntRange(min = 1, max = 2) int c) {
        int h = 6, w = 7;
        float[] img = random(c * h * w, dy * 10L + dx, 0.1, 1), out = new float[c * h * w];
        Augment.shift(img, 0, c, h, w, dy, dx, out, 0);
        for (int k = 0; k < c; k++) {
            List<Float> kept = new ArrayList<>(), got = new ArrayList<>();
            int zeros = 0;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    if (y + dy >= 0 && y + dy < h && x + dx >= 0 && x + dx < w) kept.add(img[k * h * w + y * w + x]);
                    float v = out[k * h * w + y * w + x];
                    if (v == 0) zeros++;
                    else got.add(v);
                }
            }
            kept.sort(null);
            got.sort(null);
            assertEquals(kept, got, "channel " + k);
            assertEquals(h * w - (h - Math.min(h, Math.abs(dy))) * (w - Math.min(w, Math.abs(dx))), zeros);
        }
    }

    @Test
    void rotationBy0IsTheIdentity() {
        float[] img = random(2 * 5 * 6, 3, -2, 2), out = new float[img.length];
        Augment.rotate(img, 0, 2, 5, 6, 0, out, 0);
        assertArrayEquals(img, out);
    }

    @Test
    void rotationBy90And180MovesPixelsExactly() {
        int n = 7;
        float[] img = random(n * n, 5, 0.1, 1), out = new float[n * n];
        // Anticlockwise by 90 degrees on screen: the top-right corner goes to the top-left.
        Augment.rotate(img, 0, 1, n, n, 90, out, 0);
        for (int y = 0; y < n; y++) {
            for (int x = 0; x < n; x++) assertEquals(img[x * n + (n - 1 - y)], out[y * n + x], 1e-5, y + "," + x);
        }
        Augment.rotate(img, 0, 1, n, n, 180, out, 0);
        for (int y = 0; y < n; y++) {
            for (int x = 0; x < n; x++) assertEquals(img[(n - 1 - y) * n + (n - 1 - x)], out[y * n + x], 1e-5);
        }
    }

    @Property(tries = 20)
    void rotationPreservesTheInkOfACentredBlob(@ForAll @DoubleRange(min = -30, max = 30) double degrees) {
        int n = 28;
        float[] img = new float[n * n], out = new float[n * n];
        double sum = 0;
        for (int y = 0; y < n; y++) {
            for (int x = 0; x < n; x++) {
                // An anisotropic blob, so that rotation actually moves pixels.
                double u = x - 13.5, v = y - 13.5;
                img[y * n + x] = (float) Math.exp(-(u * u / 18 + v * v / 6));
                sum += img[y * n + x];
            }
        }
        Augment.rotate(img, 0, 1, n, n, degrees, out, 0);
        double after = 0;
        for (float v : out) after += v;
        assertEquals(sum, after, 0.02 * sum, degrees + " degrees");
    }

    /**
     * Bilinear weights are a convex combination of input pixels and the fill 0, so every output lies in
     * {@code [min(0, min), max(0, max)]} of the input: no overshoot.
     */
    @Property(tries = 40)
    void outputsStayWithinTheInputRangeAndTheFill(@ForAll @IntRange(min = 0, max = 10000) int index,
                                                  @ForAll @IntRange(min = 0, max = 50) int epoch) {
        var aug = Augment.NONE.withCrop(3, 10, 9).withFlip(0.5).withShift(2).withRotation(25);
        int c = 2, h = 11, w = 9;
        float[] out = new float[c * 10 * 9];
        double[][] ranges = {{0.3, 2.5}, {-2, -0.5}, {-1, 2}};
        for (double[] r : ranges) {
            float[] img = random(c * h * w, index, r[0], r[1]);
            float lo = img[0], hi = img[0];
            for (float v : img) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
            aug.apply(aug.draw(1, epoch, index, h, w), img, 0, c, h, w, out, 0, null);
            for (float v : out) {
                assertTrue(v >= Math.min(0, lo) && v <= Math.max(0, hi), v + " outside " + lo + " .. " + hi);
            }
        }
    }

    // ---- random parameters ----

    @Test
    void sameSeedEpochAndIndexGiveTheSameOutputOthersDiffer() {
        var aug = Augment.NONE.withCrop(2, 0, 0).withFlip(0.5).withRotation(10);
        int c = 1, h = 12, w = 12;
        float[] img = random(c * h * w, 1, 0.1, 1);
        for (int index = 0; index < 20; index++) {
            float[] a = run(aug, 7, 3, index, img, h, w), b = run(aug, 7, 3, index, img, h, w);
            assertArrayEquals(a, b);
            assertFalse(Arrays.equals(a, run(aug, 7, 4, index, img, h, w)), "epochs 3 and 4, index " + index);
            assertFalse(Arrays.equals(a, run(aug, 8, 3, index, img, h, w)), "seeds 7 and 8, index " + index);
            assertFalse(Arrays.equals(a, run(aug, 7, 3, index + 1000, img, h, w)), "index " + index);
        }
    }

    static float[] run(Augment aug, long seed, int epoch, int index, float[] img, int h, int w) {
        int[] shape = aug.outputShape(new int[] {1, h, w});
        float[] out = new float[shape[1] * shape[2]];
        aug.apply(aug.draw(seed, epoch, index, h, w), img, 0, 1, h, w, out, 0, null);
        return out;
    }

    @Test
    void drawnParametersCoverTheirRanges() {
        var aug = Augment.NONE.withCrop(4, 32, 32).withFlip(0.5).withShift(3).withRotation(15);
        int flips = 0;
        boolean[] tops = new boolean[9], shifts = new boolean[7];
        double lo = 0, hi = 0;
        for (int i = 0; i < 4000; i++) {
            Augment.Params p = aug.draw(5, 1, i, 32, 32);
            if (p.flip()) flips++;
            tops[p.top()] = true;   // 0..8, out of range would throw
            shifts[p.shiftX() + 3] = true;
            assertTrue(Math.abs(p.shiftY()) <= 3 && p.left() >= 0 && p.left() <= 8);
            assertTrue(Math.abs(p.degrees()) <= 15);
            lo = Math.min(lo, p.degrees());
            hi = Math.max(hi, p.degrees());
        }
        assertTrue(flips > 1800 && flips < 2200, flips + " flips of 4000");   // sd 32
        for (boolean t : tops) assertTrue(t);
        for (boolean s : shifts) assertTrue(s);
        assertTrue(lo < -14 && hi > 14, lo + " .. " + hi);
        // Disabled steps draw the neutral value.
        Augment.Params none = Augment.NONE.draw(5, 1, 0, 32, 32);
        assertEquals(new Augment.Params(0, 0, 0, 0, 0, false), none);
    }

    @Test
    void enablingOneStepDoesNotChangeAnothersDraws() {
        var a = Augment.NONE.withCrop(4, 0, 0);
        var b = a.withFlip(0.5).withRotation(5);
        for (int i = 0; i < 50; i++) {
            assertEquals(a.draw(1, 2, i, 32, 32).top(), b.draw(1, 2, i, 32, 32).top());
            assertEquals(a.draw(1, 2, i, 32, 32).left(), b.draw(1, 2, i, 32, 32).left());
        }
    }

    @Test
    void invalidSettingsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> Augment.NONE.withCrop(-1, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> Augment.NONE.withFlip(1.5));
        assertThrows(IllegalArgumentException.class, () -> Augment.NONE.withRotation(Double.NaN));
        assertThrows(IllegalArgumentException.class, () -> Augment.NONE.withShift(-2));
        assertThrows(IllegalArgumentException.class, () -> Augment.NONE.withCrop(1, 31, 30).outputShape(new int[] {3, 28, 28}));
        assertArrayEquals(new int[] {3, 30, 30}, Augment.NONE.withCrop(1, 30, 30).outputShape(new int[] {3, 28, 28}));
    }

    // ---- the dataset wrapper ----

    /** CIFAR's augmentation is a shift within the padding and a flip: check each output against that definition. */
    @Test
    void cifarAugmentationIsAPaddedCropAndAFlip() {
        var data = NormalizeTest.Fixed.random(12, 3, 0.5, 4);
        // Fixed images are 4 x 5; pad 4 and crop back to 4 x 5.
        var aug = new AugmentedDataset(data, Augment.NONE.withCrop(4, 4, 5).withFlip(0.5), 99);
        int h = 4, w = 5, per = 3 * h * w;
        int[] idx = {11, 3, 0, 7, 5};
        float[] raw = new float[idx.length * per], labels = new float[idx.length];
        data.batch(idx, raw, labels);
        float[] out = new float[idx.length * per], outLabels = new float[idx.length];
        int flipped = 0;
        for (int epoch = 0; epoch < 4; epoch++) {
            aug.batch(epoch, idx, out, outLabels);
            assertArrayEquals(labels, outLabels, "labels untouched");
            for (int b = 0; b < idx.length; b++) {
                Augment.Params p = aug.augment().draw(99, epoch, idx[b], h, w);
                if (p.flip()) flipped++;
                for (int c = 0; c < 3; c++) {
                    for (int y = 0; y < h; y++) {
                        for (int x = 0; x < w; x++) {
                            int sx = (p.flip() ? w - 1 - x : x) + p.left() - 4, sy = y + p.top() - 4;
                            float expected = sy < 0 || sy >= h || sx < 0 || sx >= w ? 0
                                    : raw[b * per + (c * h + sy) * w + sx];
                            assertEquals(expected, out[b * per + (c * h + y) * w + x]);
                        }
                    }
                }
            }
        }
        assertTrue(flipped > 0 && flipped < 20, flipped + " of 20 flipped");
        // The plain batch is epoch 0.
        float[] zero = new float[idx.length * per];
        aug.batch(idx, zero, outLabels);
        aug.batch(0, idx, out, outLabels);
        assertArrayEquals(out, zero);
    }

    @Test
    void aSmallerCropChangesTheShapeAndKeepsLabels() {
        var data = new GeneratedDigits(10, 3);
        var aug = new AugmentedDataset(data, Augment.NONE.withCrop(0, 24, 20), 1);
        assertArrayEquals(new int[] {1, 24, 20}, aug.imageShape());
        assertEquals(10, aug.size());
        int[] idx = {4, 9};
        float[] images = new float[2 * 480], labels = new float[2];
        aug.batch(2, idx, images, labels);
        assertArrayEquals(new float[] {4, 9}, labels);
        float[] raw = new float[2 * 784];
        data.batch(idx, raw, new float[2]);
        for (int b = 0; b < 2; b++) {
            Augment.Params p = aug.augment().draw(1, 2, idx[b], 28, 28);
            for (int y = 0; y < 24; y++) {
                for (int x = 0; x < 20; x++) {
                    assertEquals(raw[b * 784 + (y + p.top()) * 28 + x + p.left()], images[b * 480 + y * 20 + x]);
                }
            }
        }
    }

    @Test
    void noAugmentationLeavesImagesAlone() {
        var data = new GeneratedDigits(6, 3);
        var aug = new AugmentedDataset(data, Augment.NONE, 5);
        int[] idx = {0, 1, 2, 3, 4, 5};
        float[] a = new float[6 * 784], b = new float[6 * 784];
        data.batch(idx, a, new float[6]);
        aug.batch(3, idx, b, new float[6]);
        assertArrayEquals(a, b);
    }
}
