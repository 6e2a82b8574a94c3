package dev.stride.zoo.generative;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Grid geometry, the value mapping and the PNG round trip, checked pixel by pixel against hand-placed values. */
class ImageGridTest {
    @TempDir Path dir;

    private static int grey(BufferedImage img, int x, int y) { return img.getRGB(x, y) & 0xFF; }

    @Test
    void writesAPngOfTheExpectedSizeWithValuesMappedFromTheRange() throws IOException {
        int n = 7, h = 4, w = 3, rows = 2, cols = 4;
        float[] px = new float[n * h * w];
        for (int i = 0; i < n; i++) {
            for (int p = 0; p < h * w; p++) px[i * h * w + p] = -1;          // lo: black
            px[i * h * w] = 1;                                                // top-left: hi, white
            px[i * h * w + w + 1] = 0;                                        // (1, 1): the middle, 128 (127.5 rounded)
            px[i * h * w + h * w - 1] = 5;                                    // beyond hi: clamped to white
        }
        Path file = dir.resolve("sub/grid.png");
        ImageGrid.write(file, px, n, 1, h, w, rows, cols, -1, 1);
        BufferedImage img = ImageIO.read(file.toFile());
        assertEquals(cols * (w + 2) + 2, img.getWidth());                     // 4 * 5 + 2 = 22
        assertEquals(rows * (h + 2) + 2, img.getHeight());                    // 2 * 6 + 2 = 14
        for (int i = 0; i < n; i++) {
            int ox = 2 + (i % cols) * (w + 2), oy = 2 + (i / cols) * (h + 2);
            assertEquals(255, grey(img, ox, oy), "image " + i);
            assertEquals(128, grey(img, ox + 1, oy + 1));
            assertEquals(0, grey(img, ox + 2, oy));
            assertEquals(255, grey(img, ox + w - 1, oy + h - 1));
            assertEquals(0x80, grey(img, ox - 1, oy), "separator left of image " + i);
            assertEquals(0x80, grey(img, ox, oy - 2), "separator above image " + i);
        }
        // The eighth cell has no image: separator grey throughout.
        assertEquals(0x80, grey(img, 2 + 3 * (w + 2) + 1, 2 + (h + 2) + 1));
        assertEquals(0x80, grey(img, img.getWidth() - 1, img.getHeight() - 1));
    }

    @Test
    void threeChannelsGiveColour() {
        float[] px = {1, 0, 0, 0.5f};                                          // one 1x1 image: R 1, G 0, B 0 (4th ignored)
        BufferedImage img = ImageGrid.render(px, 1, 3, 1, 1, 1, 1, 0, 1);
        assertEquals(0xFF0000, img.getRGB(2, 2) & 0xFFFFFF);
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> ImageGrid.render(new float[4], 1, 2, 1, 2, 1, 1, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> ImageGrid.render(new float[4], 1, 1, 2, 2, 1, 1, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> ImageGrid.render(new float[3], 1, 1, 2, 2, 1, 1, 0, 1));
    }
}
