package dev.stride.zoo.data;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A 10-class handwritten-digit look-alike that needs no files: each digit is a skeleton of pen strokes (lines and
 * elliptic arcs, drawn in the order a hand would), randomised per sample (control-point jitter, stroke thickness,
 * shear, scale, aspect, rotation within 15 degrees, translation) and rasterised, anti-aliased, into a 28x28 image
 * in [0,1] by distance to the stroke segments. No fonts and no AWT, so it runs headless and gives the same pixels
 * on every JVM.
 *
 * <p>Sample {@code i} is rendered on demand from {@code (seed, i)} alone: deterministic, and random access costs
 * the same as sequential. Labels cycle {@code i % 10}, so any prefix is balanced.
 */
public final class GeneratedDigits implements Batches.Dataset {
    public static final int SIDE = 28;
    public static final int CLASSES = 10;
    /** Glyph height in pixels before scaling: MNIST digits sit in a 20x20 box centred in 28x28. */
    private static final double GLYPH_PIXELS = 20;
    /** Largest extent (including the stroke) a transformed digit may take; bigger ones are shrunk to fit. */
    private static final double MAX_EXTENT = 25;

    private final int size;
    private final long seed;
    private final boolean normalize;

    /** {@code size} samples in [0,1] determined by {@code seed}. */
    public GeneratedDigits(int size, long seed) { this(size, seed, false); }

    /** With {@code normalize}, pixels are standardised with MNIST's mean and std, as {@link Mnist} does. */
    public GeneratedDigits(int size, long seed, boolean normalize) {
        if (size < 0) throw new IllegalArgumentException("size " + size + " must be >= 0");
        this.size = size;
        this.seed = seed;
        this.normalize = normalize;
    }

    @Override public int size() { return size; }

    @Override public int[] imageShape() { return new int[] {1, SIDE, SIDE}; }

    public int label(int i) { return i % CLASSES; }

    @Override public void batch(int[] indices, float[] images, float[] labels) {
        int per = SIDE * SIDE;
        if (images.length < (long) indices.length * per || labels.length < indices.length)
            throw new IllegalArgumentException("batch of " + indices.length + " needs " + indices.length * per
                    + " image floats and " + indices.length + " label floats, got " + images.length + " and "
                    + labels.length);
        for (int b = 0; b < indices.length; b++) {
            int i = indices[b];
            if (i < 0 || i >= size)
                throw new IndexOutOfBoundsException("sample " + i + " at batch position " + b + ", size " + size);
            render(i, images, b * per);
            labels[b] = label(i);
        }
    }

    /** Renders sample {@code i} into {@code out[offset .. offset + 784)}, row-major. */
    public void render(int i, float[] out, int offset) {
        var rnd = new SplittableRandom(Batches.mix(seed, i));
        List<double[]> strokes = skeleton(label(i), new Pen(rnd));
        double halfWidth = 0.75 + 0.85 * rnd.nextDouble();
        transform(strokes, halfWidth, rnd);
        java.util.Arrays.fill(out, offset, offset + SIDE * SIDE, 0f);
        for (double[] s : strokes) {
            for (int k = 0; k + 3 < s.length; k += 2) segment(out, offset, s[k], s[k + 1], s[k + 2], s[k + 3], halfWidth);
        }
        if (normalize) {
            for (int p = offset; p < offset + SIDE * SIDE; p++) out[p] = (out[p] - Mnist.MEAN) / Mnist.STD;
        }
    }

    /**
     * Pen strokes in a unit glyph box (x right, y down, the digit spanning y 0..1 and about x 0.2..0.8). Arc
     * angles are in degrees the mathematical way (0 = right, 90 = up), so increasing angles turn anticlockwise.
     */
    private static List<double[]> skeleton(int digit, Pen p) {
        switch (digit) {
            case 0 -> p.arc(0.5, 0.5, 0.27, 0.44, 95, 95 + 360 + 15 * p.rnd.nextDouble()).end();
            case 1 -> {
                if (p.rnd.nextDouble() < 0.6) p.line(0.34, 0.22).line(0.55, 0.02);   // the serif flag
                else p.line(0.53, 0.02);
                p.line(0.5, 0.98).end();
                if (p.rnd.nextDouble() < 0.2) p.line(0.33, 0.98).line(0.72, 0.98).end();
            }
            case 2 -> p.arc(0.5, 0.3, 0.27, 0.27, 165, -25).line(0.2, 0.97).line(0.82, 0.97).end();
            case 3 -> p.arc(0.48, 0.27, 0.25, 0.23, 155, -90).arc(0.48, 0.73, 0.29, 0.25, 90, -155).end();
            case 4 -> {
                p.line(0.6, 0.02).line(0.16, 0.66).line(0.86, 0.66).end();
                p.line(0.66, 0.2).line(0.66, 0.98).end();
            }
            case 5 -> p.line(0.8, 0.03).line(0.33, 0.03).line(0.29, 0.45)
                    .arc(0.5, 0.68, 0.29, 0.28, 125, -150).end();
            case 6 -> p.arc(0.72, 0.72, 0.47, 0.7, 80, 180).arc(0.5, 0.73, 0.26, 0.25, 180, 520).end();
            case 7 -> {
                p.line(0.18, 0.04).line(0.82, 0.04).line(0.42, 0.98).end();
                if (p.rnd.nextDouble() < 0.2) p.line(0.42, 0.52).line(0.74, 0.52).end();   // continental bar
            }
            case 8 -> {
                p.arc(0.5, 0.26, 0.21, 0.23, -90, 270).end();
                p.arc(0.5, 0.73, 0.26, 0.25, 90, 450).end();
            }
            case 9 -> p.arc(0.5, 0.29, 0.25, 0.26, 0, 360).line(0.68, 0.98).end();
            default -> throw new IllegalArgumentException("digit " + digit);
        }
        return p.strokes;
    }

    /** Builds strokes from jittered control points; consecutive calls continue the same stroke until end(). */
    private static final class Pen {
        final SplittableRandom rnd;
        final List<double[]> strokes = new ArrayList<>();
        private final List<Double> current = new ArrayList<>();

        Pen(SplittableRandom rnd) { this.rnd = rnd; }

        private double gauss(double sigma) {
            // Box-Muller, clamped at 2.5 sigma so that no jitter tears a glyph apart.
            double u = 1 - rnd.nextDouble(), v = rnd.nextDouble();
            double g = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
            return sigma * Math.max(-2.5, Math.min(2.5, g));
        }

        private void point(double x, double y) {
            current.add(x);
            current.add(y);
        }

        Pen line(double x, double y) {
            point(x + gauss(0.03), y + gauss(0.03));
            return this;
        }

        /** An elliptic arc from angle a0 to a1 (degrees), sampled every ~12 degrees. */
        Pen arc(double cx, double cy, double rx, double ry, double a0, double a1) {
            cx += gauss(0.025);
            cy += gauss(0.025);
            rx *= 1 + gauss(0.08);
            ry *= 1 + gauss(0.08);
            a0 += gauss(7);
            a1 += gauss(7);
            int n = Math.max(4, (int) Math.ceil(Math.abs(a1 - a0) / 12));
            for (int k = 0; k <= n; k++) {
                double a = Math.toRadians(a0 + (a1 - a0) * k / n);
                point(cx + rx * Math.cos(a), cy - ry * Math.sin(a));
            }
            return this;
        }

        void end() {
            double[] s = new double[current.size()];
            for (int k = 0; k < s.length; k++) s[k] = current.get(k);
            strokes.add(s);
            current.clear();
        }
    }

    /**
     * Glyph box to pixels, with the per-sample affine: shear, scale and aspect, rotation, then centring the bounding
     * box at the image centre plus a small translation. A digit that would not fit is shrunk to fit.
     */
    private static void transform(List<double[]> strokes, double halfWidth, SplittableRandom rnd) {
        double shear = -0.25 + 0.5 * rnd.nextDouble();
        double scale = 0.85 + 0.25 * rnd.nextDouble();
        double aspect = 0.85 + 0.3 * rnd.nextDouble();
        double angle = Math.toRadians(-15 + 30 * rnd.nextDouble());
        double tx = -1.5 + 3 * rnd.nextDouble(), ty = -1.5 + 3 * rnd.nextDouble();
        double cos = Math.cos(angle), sin = Math.sin(angle);
        double minX = Double.MAX_VALUE, minY = Double.MAX_VALUE, maxX = -Double.MAX_VALUE, maxY = -Double.MAX_VALUE;
        for (double[] s : strokes) {
            for (int k = 0; k < s.length; k += 2) {
                double u = (s[k] - 0.5) * GLYPH_PIXELS, v = (s[k + 1] - 0.5) * GLYPH_PIXELS;
                u = (u - shear * v) * scale * aspect;   // slants the digit like italics, either way
                v = v * scale;
                double x = cos * u - sin * v, y = sin * u + cos * v;
                s[k] = x;
                s[k + 1] = y;
                minX = Math.min(minX, x);
                maxX = Math.max(maxX, x);
                minY = Math.min(minY, y);
                maxY = Math.max(maxY, y);
            }
        }
        double extent = Math.max(maxX - minX, maxY - minY) + 2 * halfWidth;
        double fit = extent > MAX_EXTENT ? MAX_EXTENT / extent : 1;
        double cx = (minX + maxX) / 2, cy = (minY + maxY) / 2;
        for (double[] s : strokes) {
            for (int k = 0; k < s.length; k += 2) {
                s[k] = SIDE / 2.0 + tx * fit + (s[k] - cx) * fit;
                s[k + 1] = SIDE / 2.0 + ty * fit + (s[k + 1] - cy) * fit;
            }
        }
    }

    /**
     * Draws one segment of a stroke of half-width {@code hw}: each pixel within reach takes coverage
     * {@code clamp(hw + 0.5 - distance)}, a one-pixel linear ramp at the edge (anti-aliasing), and keeps the
     * maximum over segments, so joints do not double up.
     */
    private static void segment(float[] img, int off, double ax, double ay, double bx, double by, double hw) {
        int x0 = Math.max(0, (int) Math.floor(Math.min(ax, bx) - hw - 1));
        int x1 = Math.min(SIDE - 1, (int) Math.ceil(Math.max(ax, bx) + hw + 1));
        int y0 = Math.max(0, (int) Math.floor(Math.min(ay, by) - hw - 1));
        int y1 = Math.min(SIDE - 1, (int) Math.ceil(Math.max(ay, by) + hw + 1));
        double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
        for (int y = y0; y <= y1; y++) {
            for (int x = x0; x <= x1; x++) {
                double px = x + 0.5 - ax, py = y + 0.5 - ay;
                double t = len2 == 0 ? 0 : Math.max(0, Math.min(1, (px * dx + py * dy) / len2));
                double ex = px - t * dx, ey = py - t * dy;
                double cover = hw + 0.5 - Math.sqrt(ex * ex + ey * ey);
                if (cover <= 0) continue;
                int p = off + y * SIDE + x;
                float c = (float) Math.min(1, cover);
                if (c > img[p]) img[p] = c;
            }
        }
    }
}
