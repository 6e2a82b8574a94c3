package dev.stride.zoo.train;

import dev.stride.graph.Schedule;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The files a run with a log directory writes: the CSV of its curves and two PNG plots; and the progress output. */
class TrainingLogTest {
    @Test
    void csvPlotsAndProgressOfARun(@TempDir Path dir) throws IOException {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        Schedule schedule = new Schedule.StepDecay(0.01, 5, 0.5);
        TrainerConfig config = TrainerResumeTest.config().withSchedule(schedule).withTopK(3).withLogDir(dir)
                .withProgress(new PrintStream(console, true, StandardCharsets.UTF_8));
        TrainingLog log;
        try (Trainer t = Trainer.create(TrainerResumeTest::tiny, TrainerResumeTest.TRAIN, TrainerResumeTest.TEST, config)) {
            log = t.fit().log();
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of(Trainer.ACCURACY_PLOT, Trainer.LOSS_PLOT, Trainer.CSV_FILE),
                    s.map(p -> p.getFileName().toString()).sorted().toList(), "no temporary files left");
        }

        List<String> lines = Files.readAllLines(dir.resolve(Trainer.CSV_FILE));
        assertEquals("step,epoch,lr,loss,epoch_train_loss,eval_loss,eval_accuracy,eval_top3_accuracy", lines.getFirst());
        assertEquals(1 + 16, lines.size());
        for (int i = 0; i < 16; i++) {
            String[] f = lines.get(1 + i).split(",", -1);
            assertEquals(8, f.length, lines.get(1 + i));
            assertEquals(i, Long.parseLong(f[0]));
            assertEquals(i < 8 ? 1 : 2, Integer.parseInt(f[1]));
            assertEquals(schedule.lr(i), Double.parseDouble(f[2]));             // the schedule at the global step
            assertEquals(log.steps().get(i).loss(), Double.parseDouble(f[3]));  // exactly: Double.toString round-trips
            boolean epochEnd = i == 7 || i == 15;
            for (int c = 4; c < 8; c++) assertEquals(epochEnd, !f[c].isEmpty(), "row " + i + " column " + c);
            if (epochEnd) {
                TrainingLog.Epoch e = log.epochs().get(i / 8);
                double mean = 0;
                for (int j = i - 7; j <= i; j++) mean += Double.parseDouble(lines.get(1 + j).split(",")[3]);
                assertEquals(mean / 8, Double.parseDouble(f[4]), 1e-12);
                assertEquals(e.evalLoss(), Double.parseDouble(f[5]));
                double acc = Double.parseDouble(f[6]), top3 = Double.parseDouble(f[7]);
                assertEquals(e.accuracy(), acc);
                // Fractions of the 100 test images, and top-3 at least top-1.
                assertEquals(0, Math.abs(acc * 100 - Math.round(acc * 100)), 1e-9);
                assertTrue(0 <= acc && acc <= top3 && top3 <= 1, acc + " " + top3);
            }
        }

        for (String name : List.of(Trainer.LOSS_PLOT, Trainer.ACCURACY_PLOT)) {
            BufferedImage img = ImageIO.read(dir.resolve(name).toFile());
            assertNotNull(img, name + " is not a readable image");
            assertEquals(TrainingLog.PLOT_WIDTH, img.getWidth());
            assertEquals(TrainingLog.PLOT_HEIGHT, img.getHeight());
            assertTrue(countColour(img, new Color(0x1F5FA8)) > 50, name + " has no blue curve");
        }
        assertTrue(countColour(ImageIO.read(dir.resolve(Trainer.LOSS_PLOT).toFile()), new Color(0xE0701A)) > 10,
                "the loss plot has no eval-loss markers");

        String out = console.toString(StandardCharsets.UTF_8);
        assertTrue(out.contains("epoch 1/2") && out.contains("epoch 2/2"), out);
        assertTrue(out.contains("img/s") && out.contains("ETA") && out.contains("loss "), out);
        assertTrue(out.contains("top-3"), out);
    }

    /** Pixels within 80 per channel of {@code c}: a curve's own colour, or mostly it where anti-aliased. */
    private static int countColour(BufferedImage img, Color c) {
        int n = 0;
        for (int y = 0; y < img.getHeight(); y++)
            for (int x = 0; x < img.getWidth(); x++) {
                int p = img.getRGB(x, y);
                if (Math.abs((p >> 16 & 0xFF) - c.getRed()) < 80 && Math.abs((p >> 8 & 0xFF) - c.getGreen()) < 80
                        && Math.abs((p & 0xFF) - c.getBlue()) < 80) n++;
            }
        return n;
    }

    @Test
    void plotsWithoutTextDegenerateDataAndNaNStillDraw(@TempDir Path dir) throws IOException {
        var series = List.of(new Plot.Series("flat", new double[] {3, 3}, new double[] {1, 1}, Color.RED, 2f, true),
                new Plot.Series("gap", new double[] {0, 1, 2, 3}, new double[] {1, Double.NaN, 2, 3}, Color.BLUE, 1f, false));
        for (boolean text : new boolean[] {true, false}) {
            BufferedImage img = Plot.render("t", "x", "y", series, true, 300, 200, text);
            Path file = dir.resolve("p" + text + ".png");
            Plot.writePng(img, file);
            BufferedImage back = ImageIO.read(file.toFile());
            assertNotNull(back);
            assertEquals(300, back.getWidth());
            assertEquals(200, back.getHeight());
            assertTrue(countColour(back, Color.RED) > 0 && countColour(back, Color.BLUE) > 0);
        }
        BufferedImage empty = Plot.render("no data", "x", "y", List.of(), false, 300, 200);
        assertEquals(300, empty.getWidth());
    }

    @Test
    void niceAxes() {
        Plot.Axis a = Plot.Axis.of(0.13, 2.71, 6, false);
        assertEquals(0.5, a.step());
        assertEquals(0, a.lo());
        assertEquals(3, a.hi());
        assertEquals(List.of(0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0), a.ticks());
        assertEquals("1.5", a.label(1.5));
        Plot.Axis epochs = Plot.Axis.of(1, 3, 8, true);
        assertEquals(1, epochs.step());
        assertEquals("2", epochs.label(2));
        Plot.Axis flat = Plot.Axis.of(5, 5, 6, false);
        assertTrue(flat.lo() < 5 && flat.hi() > 5);
    }

    @Test
    void smoothingIsACentredMeanSkippingNaN() {
        double[] s = TrainingLog.smoothed(new double[] {1, 2, Double.NaN, 4, 5}, 1);
        assertEquals(1.5, s[0]);
        assertEquals(1.5, s[1]);
        assertEquals(3, s[2]);
        assertEquals(4.5, s[3]);
        assertEquals(4.5, s[4]);
    }
}
