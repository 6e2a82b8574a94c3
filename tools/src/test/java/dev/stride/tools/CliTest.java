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

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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

    /**
     * Where the cuda backend cannot run (this machine, CI), `train --backend cuda` says why in one message, exit
     * code 1, no stack trace.
     */
    @Test
    void aBackendThatCannotRunHereIsReportedWithoutAStackTrace(@TempDir Path dir) throws Exception {
        String why = new dev.stride.engine.cuda.CudaBackend().unavailableReason();
        org.junit.jupiter.api.Assumptions.assumeTrue(why != null, "a GPU is usable here");
        writeMnistDir(dir, 64);
        Run r = stride("train", "lenet5", "--backend", "cuda", "--data", dir.toString(), "--epochs", "1",
                "--out", dir.resolve("run").toString());
        assertEquals(1, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("stride: backend 'cuda' is not usable here: " + why), r.err());
        assertTrue(!r.err().contains("\tat dev.stride"), r.err());
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
                "--resume", out.resolve("checkpoint.ckpt").toString(), "--checkpoint", dir.resolve("ckpts").toString());
        assertEquals(0, resumed.code(), resumed.out() + resumed.err());
        assertTrue(resumed.out().contains("epoch 2/2"), resumed.out());
        assertTrue(Files.exists(dir.resolve("ckpts").resolve("checkpoint.ckpt")), "--checkpoint DIR is where they go");
        assertTrue(!resumed.out().contains("epoch 1/2 ["), "the first epoch is not trained again: " + resumed.out());
    }

    @Test
    void vaeWritesItsElboLogAndGrids(@TempDir Path dir) throws Exception {
        Path data = Files.createDirectory(dir.resolve("data"));
        writeMnistDir(data, 128);
        Path out = dir.resolve("vae");
        Run r = stride("vae", "--data", data.toString(), "--epochs", "2", "--batch", "32", "--out", out.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        for (String f : new String[] {"vae.csv", "vae_loss.png", "reconstructions.png", "posterior_samples.png", "samples.png",
                "samples_matched.png"})
            assertTrue(Files.exists(out.resolve(f)), f + " missing; " + r.out());
        // The aggregate posterior: a row per latent dimension (16 by default) and the active-unit count.
        var row = java.util.regex.Pattern.compile("(?m)^\\s+(\\d+)\\s+(-?[0-9.]+)\\s+([0-9.]+)\\s+([0-9.]+)\\s+([0-9.]+)").matcher(r.out());
        int rows = 0, active = 0;
        while (row.find()) {
            rows++;
            double varMu = Double.parseDouble(row.group(3)), s2 = Double.parseDouble(row.group(4));
            assertEquals(varMu + s2, Double.parseDouble(row.group(5)), 2e-3, row.group());
            if (varMu > 0.01) active++;
        }
        assertEquals(16, rows, r.out());
        assertTrue(r.out().contains("active units (Var[mu] > 0.01): " + active + " of 16; over 128 images"), r.out());
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

    /**
     * Two epochs in one go, and the same two epochs interrupted by a checkpoint every 3 iterations (in its own
     * --checkpoint directory) and resumed: the same loss log to the last digit, the same sample grid; a checkpoint
     * of another model is refused naming the field, a damaged one naming the file.
     */
    @Test
    void ganCheckpointsAndResumesToTheSameRun(@TempDir Path dir) throws Exception {
        Path data = Files.createDirectory(dir.resolve("data"));
        writeMnistDir(data, 40);                      // 40 images in batches of 16: 2 iterations per epoch
        Path whole = dir.resolve("whole"), part = dir.resolve("part"), ckpts = dir.resolve("ckpts");
        String[] common = {"gan", "--data", data.toString(), "--batch", "16", "--threads", "2", "--seed", "4"};
        Run r = stride(concat(common, "--epochs", "2", "--out", whole.toString()));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(Files.exists(whole.resolve("gan.ckpt")), "checkpoints go to --out by default");

        r = stride(concat(common, "--epochs", "1", "--out", part.toString(), "--checkpoint", ckpts.toString(),
                "--checkpoint-every", "3"));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(Files.exists(ckpts.resolve("gan.ckpt")) && !Files.exists(part.resolve("gan.ckpt")), r.out());
        // Resumed with another --seed and thread count: the run keeps its checkpoint's seed; threads do not matter.
        r = stride("gan", "--data", data.toString(), "--batch", "16", "--threads", "1", "--epochs", "2",
                "--out", part.toString(), "--checkpoint", ckpts.toString(), "--resume", ckpts.resolve("gan.ckpt").toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("resumed from " + ckpts.resolve("gan.ckpt") + " after 2 iterations (epoch 1, batch 2 of 2)"),
                r.out());
        assertTrue(r.out().contains("epoch 2:") && !r.out().contains("epoch 1:"), "only epoch 2 is trained: " + r.out());
        assertEquals(Files.readAllLines(whole.resolve("gan.csv")), Files.readAllLines(part.resolve("gan.csv")));
        assertEquals(1 + 4, Files.readAllLines(part.resolve("gan.csv")).size());
        assertArrayEquals(Files.readAllBytes(whole.resolve("samples.png")), Files.readAllBytes(part.resolve("samples.png")));

        Run other = stride("gan", "--data", data.toString(), "--batch", "16", "--conditional", "--out", part.toString(),
                "--resume", ckpts.resolve("gan.ckpt").toString());
        assertEquals(1, other.code(), other.out() + other.err());
        assertTrue(other.err().contains("classes (0: unconditional) is 0 in the checkpoint, 10 here"), other.err());
        Path cut = dir.resolve("cut.ckpt");
        byte[] full = Files.readAllBytes(ckpts.resolve("gan.ckpt"));
        Files.write(cut, java.util.Arrays.copyOf(full, full.length / 2));
        Run damaged = stride(concat(common, "--out", part.toString(), "--resume", cut.toString()));
        assertEquals(1, damaged.code(), damaged.out() + damaged.err());
        assertTrue(damaged.err().contains(cut.toString()) && damaged.err().contains("truncated"), damaged.err());
        Run vae = stride("vae", "--data", data.toString(), "--resume", cut.toString());
        assertEquals(2, vae.code());
        assertTrue(vae.err().contains("unexpected argument '--resume'"), vae.err());
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
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

    /** y = relu(x W^T + b) for x [N, 3] (N symbolic), W [2, 3], b [2]: Gemm with transB and a Relu. */
    private static byte[] gemmReluModel(String extraOp) {
        var f = dev.stride.onnx.proto.Onnx.TensorProto.DataType.FLOAT_VALUE;
        var w = dev.stride.onnx.proto.Onnx.TensorProto.newBuilder().setName("W").setDataType(f).addDims(2).addDims(3);
        for (float v : new float[] {1, -2, 0.5f, 0, 3, -1}) w.addFloatData(v);
        var b = dev.stride.onnx.proto.Onnx.TensorProto.newBuilder().setName("b").setDataType(f).addDims(2)
                .addFloatData(0.25f).addFloatData(-0.5f);
        var shape = dev.stride.onnx.proto.Onnx.TensorShapeProto.newBuilder()
                .addDim(dev.stride.onnx.proto.Onnx.TensorShapeProto.Dimension.newBuilder().setDimParam("N"))
                .addDim(dev.stride.onnx.proto.Onnx.TensorShapeProto.Dimension.newBuilder().setDimValue(3));
        var type = dev.stride.onnx.proto.Onnx.TypeProto.newBuilder().setTensorType(
                dev.stride.onnx.proto.Onnx.TypeProto.Tensor.newBuilder().setElemType(f).setShape(shape));
        var gemm = dev.stride.onnx.proto.Onnx.NodeProto.newBuilder().setName("fc").setOpType("Gemm")
                .addInput("x").addInput("W").addInput("b").addOutput("h")
                .addAttribute(dev.stride.onnx.proto.Onnx.AttributeProto.newBuilder().setName("transB")
                        .setType(dev.stride.onnx.proto.Onnx.AttributeProto.AttributeType.INT).setI(1));
        var act = dev.stride.onnx.proto.Onnx.NodeProto.newBuilder().setName("act").setOpType(extraOp).addInput("h")
                .addOutput("y");
        var graph = dev.stride.onnx.proto.Onnx.GraphProto.newBuilder().setName("g").addNode(gemm).addNode(act)
                .addInitializer(w).addInitializer(b)
                .addInput(dev.stride.onnx.proto.Onnx.ValueInfoProto.newBuilder().setName("x").setType(type))
                .addOutput(dev.stride.onnx.proto.Onnx.ValueInfoProto.newBuilder().setName("y"));
        return dev.stride.onnx.proto.Onnx.ModelProto.newBuilder().setIrVersion(8).setGraph(graph)
                .addOpsetImport(dev.stride.onnx.proto.Onnx.OperatorSetIdProto.newBuilder().setVersion(13))
                .build().toByteArray();
    }

    @Test
    void importsAnOnnxModelThenRunsItOnTensorProtoAndNpyFiles(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("fc.onnx"), plan = dir.resolve("fc.stride"), out = dir.resolve("out");
        Files.write(model, gemmReluModel("Relu"));
        Run imported = stride("import", model.toString(), "-o", plan.toString(), "--batch", "2");
        assertEquals(0, imported.code(), imported.out() + imported.err());
        assertTrue(imported.out().contains("input  x [2, 3]") && imported.out().contains("output y [2, 2]"),
                imported.out());
        float[] xv = {1, 2, 3, -1, 0.5f, 2};
        var x = dev.stride.engine.Tensor.of(dev.stride.graph.Shape.of(2, 3), xv);
        Path in = dir.resolve("x.pb");
        dev.stride.onnx.OnnxTensors.write(in, x, "x");
        Run ran = stride("run", plan.toString(), "--input", "x=" + in, "--output", out.toString());
        assertEquals(0, ran.code(), ran.out() + ran.err());
        assertTrue(ran.out().contains("y [2, 2]"), ran.out());
        var y = dev.stride.onnx.OnnxTensors.read(out.resolve("output_0.pb"));
        float[][] w = {{1, -2, 0.5f}, {0, 3, -1}};
        float[] bias = {0.25f, -0.5f};
        for (int n = 0; n < 2; n++)
            for (int j = 0; j < 2; j++) {
                double s = bias[j];
                for (int k = 0; k < 3; k++) s += xv[n * 3 + k] * w[j][k];
                assertEquals(Math.max(0, s), y.get(n, j), 1e-6);
            }
        // The same input as a NumPy file.
        String header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
        header = header + " ".repeat(64 - (10 + header.length() + 1) % 64) + "\n";
        var npy = java.nio.ByteBuffer.allocate(10 + header.length() + 24).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        npy.put((byte) 0x93).put("NUMPY".getBytes()).put((byte) 1).put((byte) 0).putShort((short) header.length())
                .put(header.getBytes());
        for (float v : xv) npy.putFloat(v);
        Path npyFile = dir.resolve("x.npy");
        Files.write(npyFile, npy.array());
        Run again = stride("run", plan.toString(), "--input", "x=" + npyFile);
        assertEquals(0, again.code(), again.out() + again.err());
        assertTrue(again.out().contains(String.format(java.util.Locale.ROOT, "%.6g", y.get(0))), again.out());
        // A missing input is an error, not an exception.
        Run missing = stride("run", plan.toString());
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("input 'x'"), missing.err());
    }

    @Test
    void importRefusesAnUnsupportedModelWithTheImportersReason(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("m.onnx");
        Files.write(model, gemmReluModel("Hardmax"));
        Run r = stride("import", model.toString(), "-o", dir.resolve("m.stride").toString(), "--batch", "1");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("node 'act' (Hardmax, opset 13): unsupported"), r.err());
        assertTrue(!Files.exists(dir.resolve("m.stride")));
        Run noBatch = stride("import", model.toString(), "-o", dir.resolve("m.stride").toString());
        assertEquals(1, noBatch.code());
        assertTrue(noBatch.err().contains("symbolic ('N')"), noBatch.err());
    }
}
