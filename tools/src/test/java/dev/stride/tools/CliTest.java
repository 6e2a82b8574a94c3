package dev.stride.tools;

import dev.stride.engine.Session;
import dev.stride.graph.Plan;
import dev.stride.graph.PlanFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line end to end, on small work. */
class CliTest {
    private record Run(int code, String out, String err) {}

    private static Run stride(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        var out = new ByteArrayOutputStream();
        var err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true));
            System.setErr(new PrintStream(err, true));
            int code = Stride.run(args);
            return new Run(code, out.toString(), err.toString());
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void demoTrainsSavesReloadsAndAgrees(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("lenet.stride");
        Run r = stride("demo", "--generated", "--train-limit", "1280", "--batch", "32", "--out", file.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("predictions and logits identical"), r.out());
        var m = java.util.regex.Pattern.compile("epoch 1: test accuracy ([0-9.]+)%").matcher(r.out());
        assertTrue(m.find(), r.out());
        // 40 steps on generated digits: far above the 10% of chance (about 90% measured), or training is broken.
        assertTrue(Double.parseDouble(m.group(1)) > 50, r.out());
        Plan loaded = PlanFile.load(file);
        try (Session s = Session.open(loaded)) {
            assertEquals(loaded.tensors().keySet(), s.persistent().keySet());
        }
    }

    /** Writes MNIST-format IDX files (raw) of generated digits: n train and n test images. */
    private static void writeMnistDir(Path dir, int n) throws Exception {
        var digits = new dev.stride.zoo.data.GeneratedDigits(2 * n, 3);
        for (String split : new String[] {"train", "t10k"}) {
            int base = split.equals("train") ? 0 : n;
            var images = new java.io.ByteArrayOutputStream();
            var labels = new java.io.ByteArrayOutputStream();
            var img = new java.io.DataOutputStream(images);
            var lab = new java.io.DataOutputStream(labels);
            img.writeInt(0x00000803); img.writeInt(n); img.writeInt(28); img.writeInt(28);
            lab.writeInt(0x00000801); lab.writeInt(n);
            float[] px = new float[784];
            for (int i = 0; i < n; i++) {
                digits.render(base + i, px, 0);
                for (float v : px) img.writeByte(Math.round(255 * Math.min(1, Math.max(0, v))));
                lab.writeByte(digits.label(base + i));
            }
            Files.write(dir.resolve(split + "-images-idx3-ubyte"), images.toByteArray());
            Files.write(dir.resolve(split + "-labels-idx1-ubyte"), labels.toByteArray());
        }
    }

    @Test
    void trainWritesCheckpointLogsPlotsAndPlanThenResumes(@TempDir Path dir) throws Exception {
        Path data = Files.createDirectory(dir.resolve("data"));
        writeMnistDir(data, 256);
        Path out = dir.resolve("run");
        Run r = stride("train", "lenet5", "--data", data.toString(), "--epochs", "1", "--batch", "32",
                "--optimizer", "adam", "--lr", "0.002", "--augment", "--out", out.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        for (String f : new String[] {"checkpoint.ckpt", "training.csv", "loss.png", "accuracy.png", "model.stride"})
            assertTrue(Files.exists(out.resolve(f)), f + " missing; " + r.out());
        try (Session s = Session.open(PlanFile.load(out.resolve("model.stride")))) {
            assertTrue(s.persistent().containsKey("c1/weight"));
        }
        // Extending the finished one-epoch run to two epochs resumes from its checkpoint.
        Run resumed = stride("train", "lenet5", "--data", data.toString(), "--epochs", "2", "--batch", "32",
                "--optimizer", "adam", "--lr", "0.002", "--augment", "--out", out.toString(),
                "--resume", out.resolve("checkpoint.ckpt").toString());
        assertEquals(0, resumed.code(), resumed.out() + resumed.err());
        assertTrue(resumed.out().contains("epoch 2/2"), resumed.out());
        assertTrue(!resumed.out().contains("epoch 1/2 ["), "the first epoch is not trained again: " + resumed.out());
    }

    @Test
    void vaeWritesItsElboLogAndGrids(@TempDir Path dir) throws Exception {
        Path data = Files.createDirectory(dir.resolve("data"));
        writeMnistDir(data, 128);
        Path out = dir.resolve("vae");
        Run r = stride("vae", "--data", data.toString(), "--epochs", "2", "--batch", "32", "--out", out.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        for (String f : new String[] {"vae.csv", "vae_loss.png", "reconstructions.png", "samples.png"})
            assertTrue(Files.exists(out.resolve(f)), f + " missing; " + r.out());
        var m = java.util.regex.Pattern.compile("epoch (\\d): train -ELBO ([0-9.]+), test -ELBO ([0-9.]+)").matcher(r.out());
        double[] test = new double[2];
        for (int i = 0; i < 2; i++) {
            assertTrue(m.find(), r.out());
            test[i] = Double.parseDouble(m.group(3));
        }
        // Untrained, the bound is about 1100 nats here (689 after the first 4 steps); learning must keep lowering it.
        assertTrue(test[1] < test[0] - 20, r.out());
    }

    @Test
    void conditionalGanWritesSamplesDigitRowsAndLossCurves(@TempDir Path dir) throws Exception {
        Path data = Files.createDirectory(dir.resolve("data"));
        writeMnistDir(data, 64);
        Path out = dir.resolve("gan");
        Run r = stride("gan", "--data", data.toString(), "--epochs", "1", "--batch", "16", "--conditional",
                "--out", out.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        for (String f : new String[] {"samples.png", "samples_epoch1.png", "digits.png", "gan.csv", "gan_loss.png"})
            assertTrue(Files.exists(out.resolve(f)), f + " missing; " + r.out());
        assertEquals(1 + 4, Files.readAllLines(out.resolve("gan.csv")).size(), "a header and one line per step");
        Run bad = stride("gan", "--data", data.toString(), "--latent", "3");
        assertEquals(2, bad.code());
        assertTrue(bad.err().contains("unexpected argument '--latent'"), bad.err());
    }

    @Test
    void planBuildThenExplain(@TempDir Path dir) {
        Path file = dir.resolve("block.stride");
        Run built = stride("plan", "build", "resnet-block", "--training", "-o", file.toString());
        assertEquals(0, built.code(), built.err());
        assertTrue(Files.exists(file));
        Run explained = stride("plan", "explain", file.toString());
        assertEquals(0, explained.code(), explained.err());
        assertTrue(explained.out().contains("Conv2dBackwardFilter"), explained.out());
        assertTrue(explained.out().contains("layer1.0/bn1/running_mean <- "), explained.out());
    }

    @Test
    void planBuildTakesTheZoosClassifiers(@TempDir Path dir) {
        Path file = dir.resolve("mobilenet.stride");
        Run built = stride("plan", "build", "mobilenet_v1", "--size", "64", "-o", file.toString());
        assertEquals(0, built.code(), built.err());
        Run explained = stride("plan", "explain", file.toString());
        assertEquals(0, explained.code(), explained.err());
        assertTrue(explained.out().contains("conv_dw_13") && explained.out().contains("[1, 1000]"), explained.out());
    }

    @Test
    void corruptPlanFileIsReportedNotThrown(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("bad.stride");
        Files.writeString(file, "definitely not a plan");
        Run r = stride("plan", "explain", file.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("bad.stride") && r.err().contains("not a Stride plan file"), r.err());
    }

    @Test
    void unknownCommandsAndOptionsExitWithUsage() {
        assertEquals(2, stride("frobnicate").code());
        Run r = stride("demo", "--epochs", "zero");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--epochs expects an integer, got 'zero'"), r.err());
    }
}
