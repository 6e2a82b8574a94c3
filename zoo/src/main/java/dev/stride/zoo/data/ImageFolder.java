package dev.stride.zoo.data;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.stream.Stream;

/**
 * A labelled image dataset laid out as one sub-folder per class, torchvision's {@code ImageFolder}:
 * {@code root/cat/001.png, root/dog/x/7.jpg, ...}. Class indices follow the sorted folder names; each class folder
 * is searched recursively for {@code .png}, {@code .jpg} and {@code .jpeg} files (any case), in sorted path order.
 * Names starting with a dot (hidden files, {@code ._x.jpg} resource forks, {@code .ipynb_checkpoints}) are skipped,
 * as are other files.
 *
 * <p>Images are decoded on demand with {@code javax.imageio} (no display is used), converted to RGB or grayscale,
 * resized to a fixed size and optionally normalised; with {@link Options#cache()} each decoded image is kept (as
 * {@code C*H*W} floats) after its first use. An alpha channel is dropped, not composited. Grayscale from colour is
 * ITU-R 601 luma {@code 0.299 R + 0.587 G + 0.114 B}, as PIL's {@code convert("L")}.
 *
 * <p>Resizing is PIL's bilinear: a triangle filter whose support widens with the reduction factor, so enlarging is
 * plain bilinear interpolation (pixel centres aligned, {@code align_corners=False}) and shrinking averages every
 * source pixel instead of aliasing.
 */
public final class ImageFolder implements Batches.Dataset {
    /** Largest image decoded, in pixels (8192 x 8192); checked from the header before decoding. */
    public static final long MAX_PIXELS = 1L << 26;

    public enum Color {
        RGB(3), GRAY(1);

        public final int channels;

        Color(int channels) { this.channels = channels; }
    }

    /**
     * @param height    output height
     * @param width     output width
     * @param color     output channels
     * @param normalize per-channel standardisation after resizing ({@code color.channels} channels), or {@code null}
     *                  for values in [0,1]
     * @param cache     keep decoded images in memory after first use
     */
    public record Options(int height, int width, Color color, Normalize normalize, boolean cache) {
        public Options {
            if (height < 1 || width < 1)
                throw new IllegalArgumentException("image size " + height + "x" + width + " must be at least 1x1");
            if (color == null) throw new IllegalArgumentException("color must not be null");
            if (normalize != null && normalize.channels() != color.channels)
                throw new IllegalArgumentException("normalisation has " + normalize.channels() + " channels, "
                        + color + " images have " + color.channels);
        }

        /** RGB, values in [0,1], no cache. */
        public static Options of(int height, int width) { return new Options(height, width, Color.RGB, null, false); }

        /** Rejects a change of channel count while a normalisation is set: set the colour first. */
        public Options withColor(Color c) { return new Options(height, width, c, normalize, cache); }

        public Options withNormalize(Normalize n) { return new Options(height, width, color, n, cache); }

        public Options withCache(boolean on) { return new Options(height, width, color, normalize, on); }
    }

    private final Path root;
    private final List<String> classes;
    private final Path[] files;
    private final int[] labels;
    private final Options options;
    private final AtomicReferenceArray<float[]> cache;

    private ImageFolder(Path root, List<String> classes, Path[] files, int[] labels, Options options) {
        this.root = root;
        this.classes = classes;
        this.files = files;
        this.labels = labels;
        this.options = options;
        cache = options.cache ? new AtomicReferenceArray<>(files.length) : null;
    }

    /**
     * Lists {@code root}'s classes and images (nothing is decoded yet).
     *
     * @throws IOException naming the folder when {@code root} is not a directory, has no class sub-folders, or a
     *                     class folder holds no PNG or JPEG file
     */
    public static ImageFolder open(Path root, Options options) throws IOException {
        if (!Files.isDirectory(root)) throw new NotDirectoryException(root + " (the image folder root)");
        List<Path> classDirs;
        try (Stream<Path> s = Files.list(root)) {
            classDirs = s.filter(Files::isDirectory).filter(p -> !hidden(p)).sorted().toList();
        }
        if (classDirs.isEmpty())
            throw new IOException(root + ": no class sub-folders; expected one folder of images per class");
        List<String> classes = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (Path dir : classDirs) {
            List<Path> images;
            try (Stream<Path> s = Files.walk(dir, FileVisitOption.FOLLOW_LINKS)) {
                images = s.filter(p -> !hiddenBelow(dir, p)).filter(Files::isRegularFile)
                        .filter(ImageFolder::imageName).sorted().toList();
            }
            if (images.isEmpty())
                throw new IOException(dir + ": class folder '" + dir.getFileName()
                        + "' holds no .png, .jpg or .jpeg file");
            for (Path p : images) {
                files.add(p);
                labels.add(classes.size());
            }
            classes.add(dir.getFileName().toString());
        }
        return new ImageFolder(root, List.copyOf(classes), files.toArray(Path[]::new),
                labels.stream().mapToInt(Integer::intValue).toArray(), options);
    }

    private static boolean hidden(Path p) { return p.getFileName().toString().startsWith("."); }

    private static boolean hiddenBelow(Path dir, Path p) {
        for (Path part : dir.relativize(p)) if (part.toString().startsWith(".")) return true;
        return false;
    }

    private static boolean imageName(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg");
    }

    public Path root() { return root; }

    /** Class names; index {@code k} is label {@code k}. */
    public List<String> classes() { return classes; }

    public Options options() { return options; }

    public Path path(int i) { return files[i]; }

    public int label(int i) { return labels[i]; }

    @Override public int size() { return files.length; }

    @Override public int[] imageShape() { return new int[] {options.color.channels, options.height, options.width}; }

    /**
     * Decodes (or takes from the cache) image {@code i} into {@code out[offset .. offset + C*H*W)}.
     *
     * @throws IOException naming the file when it cannot be read or decoded
     */
    public void image(int i, float[] out, int offset) throws IOException {
        int per = imageSize();
        float[] cached = cache == null ? null : cache.get(i);
        if (cached == null) {
            cached = decode(files[i], options);
            if (cache != null) cache.compareAndSet(i, null, cached);
        }
        System.arraycopy(cached, 0, out, offset, per);
    }

    /**
     * Fills the batch, decoding on demand.
     *
     * @throws UncheckedIOException wrapping the {@link IOException} that names an unreadable file
     */
    @Override public void batch(int[] indices, float[] images, float[] labels) {
        int per = imageSize();
        if (images.length < (long) indices.length * per || labels.length < indices.length)
            throw new IllegalArgumentException("batch of " + indices.length + " needs " + (long) indices.length * per
                    + " image floats and " + indices.length + " label floats, got " + images.length + " and "
                    + labels.length);
        for (int b = 0; b < indices.length; b++) {
            int i = indices[b];
            if (i < 0 || i >= files.length)
                throw new IndexOutOfBoundsException("sample " + i + " at batch position " + b + ", size "
                        + files.length);
            try {
                image(i, images, b * per);
            } catch (IOException e) {
                throw new UncheckedIOException(e.getMessage(), e);
            }
            labels[b] = this.labels[i];
        }
    }

    /** One image, converted, resized and normalised as {@code o} says: {@code C*H*W} floats. */
    public static float[] decode(Path file, Options o) throws IOException {
        BufferedImage img = read(file);
        int w = img.getWidth(), h = img.getHeight(), c = o.color.channels;
        float[] src = channels(img, o.color);
        float[] out = new float[c * o.height * o.width];
        for (int k = 0; k < c; k++) {
            resize(src, k * h * w, h, w, out, k * o.height * o.width, o.height, o.width);
        }
        if (o.normalize != null) o.normalize.apply(out, 0, 1, o.height * o.width);
        return out;
    }

    /** Decodes the first image of {@code file}, checking its size from the header before allocating pixels. */
    static BufferedImage read(Path file) throws IOException {
        ImageInputStream in;
        try {
            in = ImageIO.createImageInputStream(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": cannot open image (" + e.getMessage() + ")", e);
        }
        if (in == null) throw new IOException(file + ": cannot open image");
        try (in) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext())
                throw new IOException(file + ": not a readable image; no PNG or JPEG decoder recognises its content ("
                        + Files.size(file) + " bytes)");
            ImageReader reader = readers.next();
            try {
                long w, h;
                try {
                    reader.setInput(in, true, true);
                    w = reader.getWidth(0);
                    h = reader.getHeight(0);
                } catch (IOException | RuntimeException e) {
                    throw corrupt(file, reader, e);
                }
                if (w < 1 || h < 1 || w * h > MAX_PIXELS)
                    throw new IOException(file + ": image is " + w + "x" + h + ", expected 1 to " + MAX_PIXELS
                            + " pixels");
                try {
                    return reader.read(0);
                } catch (IOException | RuntimeException e) {
                    throw corrupt(file, reader, e);
                }
            } finally {
                reader.dispose();
            }
        }
    }

    /**
     * Decoders report corrupt data as IIOException or, in places, as runtime exceptions (an index out of bounds on
     * a truncated stream); either way it is this file that is bad.
     */
    private static IOException corrupt(Path file, ImageReader reader, Exception e) {
        String format;
        try {
            format = reader.getFormatName();
        } catch (IOException unknown) {
            format = "the";
        }
        return new IOException(file + ": cannot decode " + format + " image (" + e + ")", e);
    }

    /**
     * The image's planes in [0,1], {@code C*h*w}. Gray images are read from their raster: {@code getRGB} would pass
     * them through the linear-gray to sRGB conversion and brighten them.
     */
    static float[] channels(BufferedImage img, Color color) {
        int w = img.getWidth(), h = img.getHeight(), plane = w * h;
        ColorModel cm = img.getColorModel();
        float[] out = new float[color.channels * plane];
        if (cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY && !(cm instanceof IndexColorModel)) {
            Raster r = img.getRaster();
            double max = (1L << cm.getComponentSize(0)) - 1;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    float v = (float) (r.getSample(x, y, 0) / max);
                    for (int k = 0; k < color.channels; k++) out[k * plane + y * w + x] = v;
                }
            }
            return out;
        }
        int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
        for (int p = 0; p < plane; p++) {
            int v = argb[p];
            double r = (v >> 16 & 0xff) / 255.0, g = (v >> 8 & 0xff) / 255.0, b = (v & 0xff) / 255.0;
            if (color == Color.GRAY) {
                out[p] = (float) (0.299 * r + 0.587 * g + 0.114 * b);
            } else {
                out[p] = (float) r;
                out[plane + p] = (float) g;
                out[2 * plane + p] = (float) b;
            }
        }
        return out;
    }

    /**
     * Resizes one plane {@code sh x sw} at {@code src[so..]} to {@code dh x dw} at {@code dst[doff..]}: separable
     * triangle filter, rows then columns, in double.
     */
    static void resize(float[] src, int so, int sh, int sw, float[] dst, int doff, int dh, int dw) {
        Filter fx = new Filter(sw, dw), fy = new Filter(sh, dh);
        double[] tmp = new double[sh * dw];
        for (int y = 0; y < sh; y++) {
            for (int x = 0; x < dw; x++) {
                double s = 0;
                for (int k = 0; k < fx.count[x]; k++) s += fx.weight[x][k] * src[so + y * sw + fx.first[x] + k];
                tmp[y * dw + x] = s;
            }
        }
        for (int y = 0; y < dh; y++) {
            for (int x = 0; x < dw; x++) {
                double s = 0;
                for (int k = 0; k < fy.count[y]; k++) s += fy.weight[y][k] * tmp[(fy.first[y] + k) * dw + x];
                dst[doff + y * dw + x] = (float) s;
            }
        }
    }

    /**
     * Weights of a 1-D resize from {@code n} to {@code m} samples. Output {@code i} sits at source coordinate
     * {@code (i + 0.5) * n / m} (pixel {@code j} spans {@code [j, j+1)}); pixel {@code j} weighs
     * {@code max(0, 1 - |j + 0.5 - centre| / support)} with support {@code max(1, n / m)}, and the weights within
     * the image are scaled to sum to 1, which at the borders amounts to clamping.
     */
    private static final class Filter {
        final int[] first, count;
        final double[][] weight;

        Filter(int n, int m) {
            double scale = (double) n / m, support = Math.max(1, scale);
            first = new int[m];
            count = new int[m];
            weight = new double[m][];
            for (int i = 0; i < m; i++) {
                double centre = (i + 0.5) * scale;
                int lo = Math.max(0, (int) Math.floor(centre - support));
                int hi = Math.min(n - 1, (int) Math.ceil(centre + support));
                double[] w = new double[hi - lo + 1];
                double sum = 0;
                for (int j = lo; j <= hi; j++) {
                    double t = 1 - Math.abs(j + 0.5 - centre) / support;
                    w[j - lo] = Math.max(0, t);
                    sum += w[j - lo];
                }
                for (int k = 0; k < w.length; k++) w[k] /= sum;
                first[i] = lo;
                count[i] = w.length;
                weight[i] = w;
            }
        }
    }
}
