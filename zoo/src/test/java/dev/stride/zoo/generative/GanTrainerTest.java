package dev.stride.zoo.generative;

import dev.stride.zoo.data.GeneratedDigits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GanTrainerTest {
    @TempDir Path dir;

    private static final GanTrainer.Config CONFIG = GanTrainer.Config.defaults().withBatchSize(16).withSeed(3);

    @Test
    void alternatesStepsAndLogsBothLosses() throws IOException {
        try (var t = new GanTrainer(DcganTest.SMALL, new GeneratedDigits(40, 5), CONFIG)) {
            List<GanTrainer.Step> steps = t.run(5, null);                 // 2 batches per epoch: epochs 1, 1, 2, 2, 3
            assertEquals(5, steps.size());
            assertEquals(steps, t.log());
            for (int i = 0; i < 5; i++) {
                GanTrainer.Step s = steps.get(i);
                assertEquals(i, s.step());
                assertEquals(1 + i / 2, s.epoch());
                assertTrue(Double.isFinite(s.dLoss()) && s.dLoss() > 0 && Double.isFinite(s.gLoss()) && s.gLoss() > 0, s.toString());
            }
            // Between iterations both sessions hold the same two networks.
            var d = Digits.values(t.discriminatorSession());
            var g = Digits.values(t.generatorSession());
            for (var p : t.discriminatorSession().plan().graph().params())
                assertArrayEquals(d.get(p.name()), g.get(p.name()), p.name());
            assertEquals(5.0, t.discriminatorSession().get("d_opt/adam/t").item());
            assertEquals(5.0, t.generatorSession().get("g_opt/adam/t").item());

            t.writeLogs(dir);
            List<String> csv = Files.readAllLines(dir.resolve(GanTrainer.CSV_FILE));
            assertEquals(6, csv.size());
            assertEquals("step,epoch,d_loss,g_loss,d_real_logit,d_fake_logit", csv.getFirst());
            String[] row = csv.get(3).split(",");
            assertEquals("2", row[0]);
            assertEquals(steps.get(2).dLoss(), Double.parseDouble(row[2]), 1e-5 * steps.get(2).dLoss());
            assertEquals(steps.get(2).gLoss(), Double.parseDouble(row[3]), 1e-5 * steps.get(2).gLoss());
            BufferedImage plot = ImageIO.read(dir.resolve(GanTrainer.LOSS_PLOT).toFile());
            assertEquals(800, plot.getWidth());

            BufferedImage grid = t.renderSamples(2, 3, 11);
            assertEquals(3 * 30 + 2, grid.getWidth());
            assertEquals(2 * 30 + 2, grid.getHeight());
        }
    }

    @Test
    void theSameSeedGivesTheSameRun() throws IOException {
        double[] a, b;
        try (var t = new GanTrainer(DcganTest.SMALL, new GeneratedDigits(32, 5), CONFIG)) {
            a = t.run(3, null).stream().mapToDouble(GanTrainer.Step::gLoss).toArray();
        }
        try (var t = new GanTrainer(DcganTest.SMALL, new GeneratedDigits(32, 5), CONFIG)) {
            b = t.run(3, null).stream().mapToDouble(GanTrainer.Step::gLoss).toArray();
        }
        assertArrayEquals(a, b);
        assertTrue(Arrays.stream(a).distinct().count() > 1);
    }

    @Test
    void rendersOneRowPerRequestedDigit() throws IOException {
        try (var t = new GanTrainer(DcganTest.CONDITIONAL, new GeneratedDigits(32, 5), CONFIG)) {
            t.run(2, null);
            BufferedImage img = t.renderDigits(new int[] {0, 4, 9}, 5, 1);
            assertEquals(5 * 30 + 2, img.getWidth());
            assertEquals(3 * 30 + 2, img.getHeight());
            Path png = dir.resolve("digits.png");
            ImageGrid.write(png, img);
            assertEquals(3 * 30 + 2, ImageIO.read(png.toFile()).getHeight());
            assertThrows(IllegalArgumentException.class, () -> t.renderDigits(new int[] {10}, 2, 1));
            // One class per image for a conditional model's samples.
            assertThrows(IllegalArgumentException.class, () -> t.generate(3, null, 1));
        }
        try (var t = new GanTrainer(DcganTest.SMALL, new GeneratedDigits(32, 5), CONFIG)) {
            assertThrows(IllegalStateException.class, () -> t.renderDigits(new int[] {1}, 2, 1));
        }
    }
}
