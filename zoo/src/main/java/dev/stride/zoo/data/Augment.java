package dev.stride.zoo.data;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Random training-time augmentation of one image, deterministic per sample: the parameters of sample
 * {@code index} in epoch {@code epoch} come from {@code (seed, epoch, index)} alone, so a run is reproducible
 * whatever the batch order or thread, and every epoch sees fresh variants. Applied in this order:
 * <ol>
 *   <li>rotation by a uniform angle in {@code ±maxDegrees} about the image centre, bilinear, fill 0
 *       (positive is anticlockwise on screen, as torchvision);</li>
 *   <li>shift by whole pixels, uniform in {@code ±maxShift} on each axis, fill 0;</li>
 *   <li>random crop of {@code cropHeight x cropWidth} from the image padded by {@code pad} zeros on every side
 *       (a crop size of 0 means the input's size, making this a random shift within {@code ±pad});</li>
 *   <li>horizontal flip with probability {@code flipProbability}.</li>
 * </ol>
 * Every parameter is drawn for every sample, used or not, so enabling one step does not change another's draws.
 * The static methods are the steps themselves, on one {@code [C, H, W]} slice of a float array.
 *
 * <p>Fill 0 is black for images in [0,1]; to keep it so for a normalised dataset, augment the raw dataset and
 * normalise after ({@code normalize.wrap(new AugmentedDataset(raw, augment, seed))}).
 */
public record Augment(int pad, int cropHeight, int cropWidth, double flipProbability, int maxShift,
                      double maxDegrees) {
    public static final Augment NONE = new Augment(0, 0, 0, 0, 0, 0);

    public Augment {
        if (pad < 0 || cropHeight < 0 || cropWidth < 0 || maxShift < 0)
            throw new IllegalArgumentException("pad " + pad + ", crop " + cropHeight + "x" + cropWidth
                    + " and max shift " + maxShift + " must be >= 0");
        if (!(flipProbability >= 0 && flipProbability <= 1))
            throw new IllegalArgumentException("flip probability " + flipProbability + " must be in [0, 1]");
        if (!(maxDegrees >= 0 && maxDegrees <= 180))
            throw new IllegalArgumentException("max rotation " + maxDegrees + " degrees must be in [0, 180]");
    }

    /** CIFAR's standard: pad 4, crop 32x32, horizontal flip with p = 0.5. */
    public static Augment cifar() { return NONE.withCrop(4, 32, 32).withFlip(0.5); }

    /** For digits (no flip, which changes their meaning): pad 2, crop 28x28, rotation within 10 degrees. */
    public static Augment mnist() { return NONE.withCrop(2, 28, 28).withRotation(10); }

    /** Pad by {@code pad} zeros, then crop {@code height x width} (0: the input's size) at a random place. */
    public Augment withCrop(int pad, int height, int width) {
        return new Augment(pad, height, width, flipProbability, maxShift, maxDegrees);
    }

    public Augment withFlip(double probability) {
        return new Augment(pad, cropHeight, cropWidth, probability, maxShift, maxDegrees);
    }

    public Augment withShift(int pixels) {
        return new Augment(pad, cropHeight, cropWidth, flipProbability, pixels, maxDegrees);
    }

    public Augment withRotation(double degrees) {
        return new Augment(pad, cropHeight, cropWidth, flipProbability, maxShift, degrees);
    }

    /** {@code [C, H', W']} for input images {@code [C, H, W]}; rejects a crop larger than the padded image. */
    public int[] outputShape(int[] in) {
        if (in.length != 3) throw new IllegalArgumentException("image shape " + Arrays.toString(in)
                + " must be [C, H, W]");
        int h = cropHeight == 0 ? in[1] : cropHeight, w = cropWidth == 0 ? in[2] : cropWidth;
        if (h > in[1] + 2 * pad || w > in[2] + 2 * pad)
            throw new IllegalArgumentException("crop " + h + "x" + w + " is larger than the padded image (" + in[1]
                    + " + 2*" + pad + ") x (" + in[2] + " + 2*" + pad + ")");
        return new int[] {in[0], h, w};
    }

    /** The random choices for one sample. {@code top, left}: crop corner in the padded image. */
    public record Params(double degrees, int shiftY, int shiftX, int top, int left, boolean flip) {}

    /** The parameters of sample {@code index} in epoch {@code epoch}, for input images of {@code h x w}. */
    public Params draw(long seed, int epoch, int index, int h, int w) {
        int ch = cropHeight == 0 ? h : cropHeight, cw = cropWidth == 0 ? w : cropWidth;
        var rnd = new SplittableRandom(Batches.mix(Batches.mix(seed, epoch), index));
        double u = rnd.nextDouble();
        double degrees = maxDegrees == 0 ? 0 : maxDegrees * (2 * u - 1);   // not -0.0 when off
        int dy = rnd.nextInt(2 * maxShift + 1) - maxShift;
        int dx = rnd.nextInt(2 * maxShift + 1) - maxShift;
        int top = rnd.nextInt(h + 2 * pad - ch + 1);
        int left = rnd.nextInt(w + 2 * pad - cw + 1);
        boolean flip = rnd.nextDouble() < flipProbability;
        return new Params(degrees, dy, dx, top, left, flip);
    }

    /**
     * Augments the {@code [c, h, w]} image at {@code src[so..]} into {@code dst[doff..]} ({@link #outputShape}),
     * which must not overlap it. {@code scratch} holds at least {@code 2*c*h*w} floats (or is {@code null}).
     */
    public void apply(Params p, float[] src, int so, int c, int h, int w, float[] dst, int doff, float[] scratch) {
        int per = c * h * w;
        if (scratch == null || scratch.length < 2 * per) scratch = new float[2 * per];
        float[] cur = src;
        int co = so;
        if (p.degrees != 0) {
            rotate(cur, co, c, h, w, p.degrees, scratch, 0);
            cur = scratch;
            co = 0;
        }
        if (p.shiftY != 0 || p.shiftX != 0) {
            int to = co == 0 && cur == scratch ? per : 0;
            shift(cur, co, c, h, w, p.shiftY, p.shiftX, scratch, to);
            cur = scratch;
            co = to;
        }
        int ch = cropHeight == 0 ? h : cropHeight, cw = cropWidth == 0 ? w : cropWidth;
        padCrop(cur, co, c, h, w, pad, p.top, p.left, ch, cw, dst, doff);
        if (p.flip) flipHorizontal(dst, doff, c, ch, cw);
    }

    /** Mirrors each row of the {@code [c, h, w]} image at {@code off}, in place. */
    public static void flipHorizontal(float[] img, int off, int c, int h, int w) {
        for (int r = 0; r < c * h; r++) {
            int a = off + r * w, b = a + w - 1;
            for (; a < b; a++, b--) {
                float t = img[a];
                img[a] = img[b];
                img[b] = t;
            }
        }
    }

    /**
     * Crops {@code ch x cw} at ({@code top}, {@code left}) from the image padded by {@code pad} zeros on every side:
     * {@code dst[y][x] = src[top + y - pad][left + x - pad]}, 0 outside {@code src}.
     */
    public static void padCrop(float[] src, int so, int c, int h, int w, int pad, int top, int left, int ch, int cw,
                               float[] dst, int doff) {
        if (top < 0 || left < 0 || top + ch > h + 2 * pad || left + cw > w + 2 * pad)
            throw new IllegalArgumentException("crop " + ch + "x" + cw + " at (" + top + ", " + left
                    + ") leaves the padded " + (h + 2 * pad) + "x" + (w + 2 * pad) + " image");
        translate(src, so, c, h, w, pad - top, pad - left, dst, doff, ch, cw);
    }

    /** {@code dst[y][x] = src[y - dy][x - dx]}, 0 where that leaves the image: content moves down and right. */
    public static void shift(float[] src, int so, int c, int h, int w, int dy, int dx, float[] dst, int doff) {
        translate(src, so, c, h, w, dy, dx, dst, doff, h, w);
    }

    /** {@code dst[y][x] = src[y - dy][x - dx]} for a {@code oh x ow} output, 0 outside {@code src}. */
    private static void translate(float[] src, int so, int c, int h, int w, int dy, int dx, float[] dst, int doff,
                                  int oh, int ow) {
        // Columns x with 0 <= x - dx < w, clipped to the output.
        int x0 = Math.max(0, dx), x1 = Math.min(ow, w + dx);
        for (int k = 0; k < c; k++) {
            for (int y = 0; y < oh; y++) {
                int d = doff + (k * oh + y) * ow, sy = y - dy;
                if (sy < 0 || sy >= h || x0 >= x1) {
                    Arrays.fill(dst, d, d + ow, 0f);
                    continue;
                }
                Arrays.fill(dst, d, d + x0, 0f);
                System.arraycopy(src, so + (k * h + sy) * w + x0 - dx, dst, d + x0, x1 - x0);
                Arrays.fill(dst, d + x1, d + ow, 0f);
            }
        }
    }

    /**
     * Rotates the image by {@code degrees} (anticlockwise on screen, y pointing down) about its centre
     * {@code ((w-1)/2, (h-1)/2)}: each output pixel samples the input bilinearly at its inversely rotated
     * position, neighbours outside the image counting as 0. The result is a convex combination of input pixels
     * and 0, so it stays within {@code [min(0, min), max(0, max)]} of the input.
     */
    public static void rotate(float[] src, int so, int c, int h, int w, double degrees, float[] dst, int doff) {
        double t = Math.toRadians(degrees), cos = Math.cos(t), sin = Math.sin(t);
        double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
        int plane = h * w;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                double ux = x - cx, uy = y - cy;
                double sx = cx + ux * cos - uy * sin, sy = cy + ux * sin + uy * cos;
                int ix = (int) Math.floor(sx), iy = (int) Math.floor(sy);
                double fx = sx - ix, fy = sy - iy;
                boolean x0in = ix >= 0 && ix < w, x1in = ix + 1 >= 0 && ix + 1 < w;
                boolean y0in = iy >= 0 && iy < h, y1in = iy + 1 >= 0 && iy + 1 < h;
                double w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
                for (int k = 0; k < c; k++) {
                    int base = so + k * plane;
                    double v = 0;
                    if (y0in && x0in) v += w00 * src[base + iy * w + ix];
                    if (y0in && x1in) v += w01 * src[base + iy * w + ix + 1];
                    if (y1in && x0in) v += w10 * src[base + (iy + 1) * w + ix];
                    if (y1in && x1in) v += w11 * src[base + (iy + 1) * w + ix + 1];
                    dst[doff + k * plane + y * w + x] = (float) v;
                }
            }
        }
    }
}
