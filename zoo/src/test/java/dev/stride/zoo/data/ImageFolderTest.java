package dev.stride.zoo.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link ImageFolder} on PNG and JPEG files written here with ImageIO. */
class ImageFolderTest {
    static Path solid(Path file, int w, int h, int r, int g, int b, String format) throws IOException {
        var img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, r << 16 | g << 8 | b);
        return write(img, file, format);
    }

    /** A gray image of one row of the given levels. */
    static Path grayRow(Path file, int... levels) throws IOException {
        var img = new BufferedImage(levels.length, 1, BufferedImage.TYPE_BYTE_GRAY);
        for (int x = 0; x < levels.length; x++) img.getRaster().setSample(x, 0, 0, levels[x]);
        return write(img, file, "png");
    }

    static Path write(BufferedImage img, Path file, String format) throws IOException {
        Files.createDirectories(file.getParent());
        assertTrue(ImageIO.write(img, format, file.toFile()), "no " + format + " writer");
        return file;
    }

    @Test
    void classIndicesFollowSortedFolderNames(@TempDir Path root) throws IOException {
        solid(root.resolve("cat/b.png"), 3, 3, 1, 2, 3, "png");
        solid(root.resolve("cat/a.PNG"), 3, 3, 1, 2, 3, "png");
        solid(root.resolve("ant/x.jpg"), 3, 3, 1, 2, 3, "jpg");
        solid(root.resolve("bee/deep/y.jpeg"), 3, 3, 1, 2, 3, "jpg");
        solid(root.resolve(".hidden/z.png"), 3, 3, 1, 2, 3, "png");    // not a class
        solid(root.resolve("bee/._junk.png"), 3, 3, 1, 2, 3, "png");   // not an image of it
        Files.writeString(root.resolve("bee/notes.txt"), "ignored");
        Files.writeString(root.resolve("README"), "ignored");

        ImageFolder f = ImageFolder.open(root, ImageFolder.Options.of(4, 4));
        assertEquals(List.of("ant", "bee", "cat"), f.classes());
        assertEquals(4, f.size());
        for (int i = 0; i < f.size(); i++) {
            String folder = root.relativize(f.path(i)).getName(0).toString();
            assertEquals(f.classes().indexOf(folder), f.label(i), f.path(i).toString());
        }
        assertEquals(root.resolve("cat/a.PNG"), f.path(2));   // sorted within a class
        float[] images = new float[4 * 3 * 16], labels = new float[4];
        f.batch(new int[] {3, 0, 1, 2}, images, labels);
        assertArrayEquals(new float[] {2, 0, 1, 2}, labels);
        assertArrayEquals(new int[] {3, 4, 4}, f.imageShape());
    }

    @Test
    void aSolidColourKeepsItsValueThroughTheResize(@TempDir Path root) throws IOException {
        solid(root.resolve("c/s.png"), 7, 5, 200, 100, 50, "png");
        // Enlarged one way and shrunk the other: every weight set must sum to 1.
        ImageFolder rgb = ImageFolder.open(root, ImageFolder.Options.of(9, 3));
        float[] out = new float[3 * 27];
        rgb.image(0, out, 0);
        int[] colour = {200, 100, 50};
        for (int c = 0; c < 3; c++) {
            for (int p = 0; p < 27; p++) assertEquals(colour[c] / 255f, out[c * 27 + p], 1e-6, "channel " + c);
        }
        ImageFolder gray = ImageFolder.open(root, ImageFolder.Options.of(2, 2).withColor(ImageFolder.Color.GRAY));
        assertArrayEquals(new int[] {1, 2, 2}, gray.imageShape());
        float[] g = new float[4];
        gray.image(0, g, 0);
        double luma = (0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255;
        for (float v : g) assertEquals(luma, v, 1e-6);
    }

    @Test
    void aSolidJpegIsCloseToItsColour(@TempDir Path root) throws IOException {
        solid(root.resolve("c/s.jpg"), 16, 16, 30, 160, 220, "jpg");
        ImageFolder f = ImageFolder.open(root, ImageFolder.Options.of(8, 8));
        float[] out = new float[3 * 64];
        f.image(0, out, 0);
        int[] colour = {30, 160, 220};
        // Lossy: chroma is subsampled and quantised, a few levels off at most for a flat colour.
        for (int c = 0; c < 3; c++) {
            for (int p = 0; p < 64; p++) assertEquals(colour[c] / 255.0, out[c * 64 + p], 4 / 255.0, "channel " + c);
        }
    }

    @Test
    void grayImagesKeepTheirLevelsInEveryChannel(@TempDir Path root) throws IOException {
        // getRGB would convert linear gray to sRGB and turn 100 into about 170.
        grayRow(root.resolve("c/g.png"), 100, 100, 100);
        float[] out = new float[3 * 3];
        ImageFolder.open(root, ImageFolder.Options.of(1, 3)).image(0, out, 0);
        for (float v : out) assertEquals(100 / 255f, v, 1e-6);
    }

    @Test
    void bilinearResizeMatchesHandComputedWeights(@TempDir Path root) throws IOException {
        double a = 0, b = 60 / 255.0, c = 120 / 255.0, d = 240 / 255.0;
        grayRow(root.resolve("up/u.png"), 0, 60);
        grayRow(root.resolve("zdown/d.png"), 0, 60, 120, 240);
        var gray = ImageFolder.Color.GRAY;
        // Enlarging 2 -> 4: output centres at 0.25, 0.75, 1.25, 1.75 source pixels; pixel centres at 0.5, 1.5.
        ImageFolder up = ImageFolder.open(root, ImageFolder.Options.of(1, 4).withColor(gray));
        float[] u = new float[4];
        up.image(0, u, 0);
        double[] eu = {a, 0.75 * a + 0.25 * b, 0.25 * a + 0.75 * b, b};
        for (int x = 0; x < 4; x++) assertEquals(eu[x], u[x], 1e-6, "enlarged " + x);
        // Shrinking 4 -> 2: centres at 1 and 3, the triangle two pixels wide: weights 0.75, 0.75, 0.25 (/1.75).
        ImageFolder down = ImageFolder.open(root, ImageFolder.Options.of(1, 2).withColor(gray));
        float[] s = new float[2];
        down.image(1, s, 0);
        assertEquals((0.75 * a + 0.75 * b + 0.25 * c) / 1.75, s[0], 1e-6);
        assertEquals((0.25 * b + 0.75 * c + 0.75 * d) / 1.75, s[1], 1e-6);
        // Same size: untouched.
        float[] same = new float[4];
        ImageFolder.open(root, ImageFolder.Options.of(1, 4).withColor(gray)).image(1, same, 0);
        assertArrayEquals(new float[] {(float) a, (float) b, (float) c, (float) d}, same, 1e-7f);
    }

    @Test
    void normalisationIsAppliedPerChannel(@TempDir Path root) throws IOException {
        solid(root.resolve("c/s.png"), 2, 2, 255, 0, 51, "png");
        var n = new Normalize(new float[] {0.5f, 0.25f, 0.1f}, new float[] {0.5f, 0.2f, 0.4f});
        float[] out = new float[3 * 4];
        ImageFolder.open(root, ImageFolder.Options.of(2, 2).withNormalize(n)).image(0, out, 0);
        double[] expected = {(1 - 0.5) / 0.5, (0 - 0.25) / 0.2, (0.2 - 0.1) / 0.4};
        for (int c = 0; c < 3; c++) for (int p = 0; p < 4; p++) assertEquals(expected[c], out[c * 4 + p], 1e-6);
        assertThrows(IllegalArgumentException.class, () -> ImageFolder.Options.of(2, 2)
                .withColor(ImageFolder.Color.GRAY).withNormalize(n));
    }

    @Test
    void anUnreadableImageIsNamed(@TempDir Path root) throws IOException {
        solid(root.resolve("a/good.png"), 4, 4, 9, 9, 9, "png");
        Path garbage = root.resolve("a/broken.png");
        Files.write(garbage, "this is not an image".getBytes());
        byte[] png = Files.readAllBytes(solid(root.resolve("b/whole.png"), 40, 40, 1, 2, 3, "png"));
        Path truncated = root.resolve("b/truncated.png");
        Files.write(truncated, Arrays.copyOf(png, 60));

        ImageFolder f = ImageFolder.open(root, ImageFolder.Options.of(4, 4));   // listing decodes nothing
        assertEquals(4, f.size());
        assertEquals(garbage, f.path(0));
        var e = assertThrows(IOException.class, () -> f.image(0, new float[48], 0));
        assertTrue(e.getMessage().contains(garbage.toString()), e.getMessage());
        var u = assertThrows(UncheckedIOException.class, () -> f.batch(new int[] {1, 0}, new float[96], new float[2]));
        assertTrue(u.getMessage().contains(garbage.toString()), u.getMessage());

        assertEquals(truncated, f.path(2));
        e = assertThrows(IOException.class, () -> f.image(2, new float[48], 0));
        assertTrue(e.getMessage().contains(truncated.toString()), e.getMessage());
        f.image(1, new float[48], 0);   // the good ones still load
        f.image(3, new float[48], 0);
    }

    @Test
    void emptyLayoutsAreClearErrors(@TempDir Path root) throws IOException {
        var e = assertThrows(IOException.class, () -> ImageFolder.open(root, ImageFolder.Options.of(4, 4)));
        assertTrue(e.getMessage().contains("no class sub-folders"), e.getMessage());

        solid(root.resolve("full/a.png"), 2, 2, 0, 0, 0, "png");
        Files.createDirectories(root.resolve("empty"));
        e = assertThrows(IOException.class, () -> ImageFolder.open(root, ImageFolder.Options.of(4, 4)));
        assertTrue(e.getMessage().contains("'empty'") && e.getMessage().contains("no .png"), e.getMessage());

        Files.writeString(root.resolve("empty/readme.txt"), "not an image");
        e = assertThrows(IOException.class, () -> ImageFolder.open(root, ImageFolder.Options.of(4, 4)));
        assertTrue(e.getMessage().contains("'empty'"), e.getMessage());

        assertThrows(IOException.class, () -> ImageFolder.open(root.resolve("full/a.png"),
                ImageFolder.Options.of(4, 4)));
        assertThrows(IllegalArgumentException.class, () -> ImageFolder.Options.of(0, 4));
    }

    @Test
    void decodingIsOnDemandAndTheCacheKeepsImages(@TempDir Path root) throws IOException {
        Path file = solid(root.resolve("c/s.png"), 3, 3, 10, 20, 30, "png");
        ImageFolder cached = ImageFolder.open(root, ImageFolder.Options.of(3, 3).withCache(true));
        ImageFolder plain = ImageFolder.open(root, ImageFolder.Options.of(3, 3));
        float[] first = new float[27], again = new float[27];
        cached.image(0, first, 0);
        Files.delete(file);
        cached.image(0, again, 0);
        assertArrayEquals(first, again);
        assertThrows(IOException.class, () -> plain.image(0, new float[27], 0));   // read now, not at open
    }
}
