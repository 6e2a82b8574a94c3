package dev.stride.zoo.generative;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A grid of images in one PNG, for samples and reconstructions: image {@code i} of an NCHW array goes to row
 * {@code i / cols}, column {@code i % cols}; cells are separated, and framed, by {@link #SPACING} pixels of mid grey,
 * as torchvision's make_grid does with its padding, so a grid is {@code cols*(W+2)+2} by {@code rows*(H+2)+2}
 * pixels. Values are mapped linearly from [lo, hi] to 0..255 and clamped. One channel gives a grey image, three an
 * RGB one. Headless: it only draws into a {@link BufferedImage}.
 */
public final class ImageGrid {
    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    /** Pixels between cells and around the edge. */
    public static final int SPACING = 2;
    /** The separator's grey level: visible against both black backgrounds and white strokes. */
    private static final int SEPARATOR = 0x80;

    private ImageGrid() {}

    /**
     * Renders the first {@code min(n, rows*cols)} images of {@code pixels}, NCHW {@code [n, channels, h, w]} (C is 1
     * or 3); cells without an image stay separator grey.
     */
    public static BufferedImage render(float[] pixels, int n, int channels, int h, int w, int rows, int cols,
                                       double lo, double hi) {
        if (channels != 1 && channels != 3)
            throw new IllegalArgumentException("an image grid needs 1 or 3 channels, got " + channels);
        if (n < 0 || h < 1 || w < 1 || rows < 1 || cols < 1)
            throw new IllegalArgumentException("grid of " + rows + "x" + cols + " cells of " + n + " images " + h + "x" + w
                    + ": counts must be >= 1 (n >= 0)");
        if (!(hi > lo) || !Double.isFinite(lo) || !Double.isFinite(hi))
            throw new IllegalArgumentException("value range [" + lo + ", " + hi + "] must be finite with hi > lo");
        long per = (long) channels * h * w;
        if (pixels.length < n * per)
            throw new IllegalArgumentException(n + " images of " + channels + "x" + h + "x" + w + " need " + n * per
                    + " floats, got " + pixels.length);
        int width = Math.toIntExact((long) cols * (w + SPACING) + SPACING);
        int height = Math.toIntExact((long) rows * (h + SPACING) + SPACING);
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int grey = SEPARATOR * 0x010101;
        for (int y = 0; y < height; y++) for (int x = 0; x < width; x++) img.setRGB(x, y, grey);
        int shown = (int) Math.min(n, (long) rows * cols);
        double scale = 255 / (hi - lo);
        for (int i = 0; i < shown; i++) {
            int ox = SPACING + (i % cols) * (w + SPACING), oy = SPACING + (i / cols) * (h + SPACING);
            long base = i * per;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int p = y * w + x;
                    int rgb;
                    if (channels == 1) {
                        rgb = level(pixels[(int) (base + p)], lo, scale) * 0x010101;
                    } else {
                        long plane = (long) h * w;
                        rgb = level(pixels[(int) (base + p)], lo, scale) << 16
                                | level(pixels[(int) (base + plane + p)], lo, scale) << 8
                                | level(pixels[(int) (base + 2 * plane + p)], lo, scale);
                    }
                    img.setRGB(ox + x, oy + y, rgb);
                }
            }
        }
        return img;
    }

    /** A value's 0..255 level; NaN shows as black rather than failing the picture. */
    private static int level(float v, double lo, double scale) {
        double l = (v - lo) * scale;
        if (!(l > 0)) return 0;
        return l >= 255 ? 255 : (int) Math.round(l);
    }

    /** Renders as {@link #render} and writes a PNG, creating the parent directories. */
    public static void write(Path file, float[] pixels, int n, int channels, int h, int w, int rows, int cols,
                             double lo, double hi) throws IOException {
        write(file, render(pixels, n, channels, h, w, rows, cols, lo, hi));
    }

    /** Writes an image as a PNG, creating the parent directories. */
    public static void write(Path file, BufferedImage img) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        if (!ImageIO.write(img, "png", file.toFile())) throw new IOException("no PNG writer in this Java runtime");
    }
}
