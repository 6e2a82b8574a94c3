package dev.stride.onnx;

import dev.stride.engine.Session;
import dev.stride.engine.Tensor;
import dev.stride.graph.Init;
import dev.stride.graph.Node;
import dev.stride.graph.Plan;
import dev.stride.graph.PlanFile;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.Dense;
import dev.stride.graph.op.Reshape;
import dev.stride.graph.op.Resize2d;
import dev.stride.graph.op.Upsample2d;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.stride.onnx.Models.floats;
import static dev.stride.onnx.Models.vector;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Importer semantics against hand computations: opset differences, folding, parameters, errors. */
class OnnxImporterTest {
    private final Random rnd = new Random(7);

    private Tensor rand(int... dims) {
        float[] v = new float[Math.toIntExact(Shape.of(dims).size())];
        for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextGaussian());
        return Tensor.of(Shape.of(dims), v);
    }

    private static long[] l(long... v) { return v; }

    private static Tensor run(byte[] model, Map<String, Tensor> inputs) {
        return runAll(model, OnnxImporter.Options.defaults(), inputs).values().iterator().next();
    }

    private static Map<String, Tensor> runAll(byte[] model, OnnxImporter.Options o, Map<String, Tensor> inputs) {
        ImportedModel m = OnnxImporter.importModel(model, o);
        try (Session s = Session.open(m.compile())) {
            return s.run(inputs);
        }
    }

    private static void assertClose(double[] want, Tensor got, double tol) {
        assertEquals(want.length, got.size(), "element count");
        for (int i = 0; i < want.length; i++)
            assertEquals(want[i], got.get(i), tol * Math.max(1, Math.abs(want[i])), "element " + i);
    }

    private static OnnxImportException importFails(byte[] model) {
        return assertThrows(OnnxImportException.class, () -> OnnxImporter.importModel(model, OnnxImporter.Options.defaults()));
    }

    // ---- opset differences ----

    /** softmax of each row of x viewed as [rows, cols]. */
    private static double[] softmaxRows(float[] x, int rows, int cols, boolean log) {
        double[] y = new double[x.length];
        for (int r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int c = 0; c < cols; c++) max = Math.max(max, x[r * cols + c]);
            for (int c = 0; c < cols; c++) sum += Math.exp(x[r * cols + c] - max);
            for (int c = 0; c < cols; c++) {
                double v = x[r * cols + c] - max - Math.log(sum);
                y[r * cols + c] = log ? v : Math.exp(v);
            }
        }
        return y;
    }

    @Test
    void softmaxFlattensTo2dBeforeOpset13AndUsesOneAxisFrom13() {
        Tensor x = rand(2, 3, 4);
        float[] xv = x.toFloatArray();
        for (String op : new String[] {"Softmax", "LogSoftmax"}) {
            boolean log = op.equals("LogSoftmax");
            byte[] old = Models.opset(11).input("x", 2, 3, 4)
                    .node(op, new String[] {"x"}, new String[] {"y"}, "axis", 1L).output("y").bytes();
            byte[] now = Models.opset(13).input("x", 2, 3, 4)
                    .node(op, new String[] {"x"}, new String[] {"y"}, "axis", 1L).output("y").bytes();
            // Opset 11: [2, 12], normalised over each of the 2 rows.
            assertClose(softmaxRows(xv, 2, 12, log), run(old, Map.of("x", x)), 1e-5);
            // Opset 13: along axis 1 only: for each (n, k), over the 3 values x[n, :, k].
            double[] want = new double[24];
            for (int n = 0; n < 2; n++)
                for (int k = 0; k < 4; k++) {
                    float[] col = new float[3];
                    for (int c = 0; c < 3; c++) col[c] = xv[n * 12 + c * 4 + k];
                    double[] s = softmaxRows(col, 1, 3, log);
                    for (int c = 0; c < 3; c++) want[n * 12 + c * 4 + k] = s[c];
                }
            assertClose(want, run(now, Map.of("x", x)), 1e-5);
        }
        // Default axis: 1 before opset 13 (flatten [2, 12]), -1 from 13 (rows of 4).
        byte[] old = Models.opset(11).input("x", 2, 3, 4).node("Softmax", "y", "x").output("y").bytes();
        byte[] now = Models.opset(13).input("x", 2, 3, 4).node("Softmax", "y", "x").output("y").bytes();
        assertClose(softmaxRows(xv, 2, 12, false), run(old, Map.of("x", x)), 1e-5);
        assertClose(softmaxRows(xv, 6, 4, false), run(now, Map.of("x", x)), 1e-5);
    }

    private static double[] sumOverAxis1(float[] x, int n, int c, int k, boolean mean) {
        double[] y = new double[n * k];
        for (int a = 0; a < n; a++)
            for (int b = 0; b < c; b++)
                for (int d = 0; d < k; d++) y[a * k + d] += x[(a * c + b) * k + d] / (mean ? c : 1.0);
        return y;
    }

    @Test
    void reduceAxesAreAnAttributeBeforeTheirOpsetAndAnInputAfter() {
        Tensor x = rand(2, 3, 4);
        for (String op : new String[] {"ReduceSum", "ReduceMean"}) {
            int inputSince = op.equals("ReduceSum") ? 13 : 18;
            boolean mean = op.equals("ReduceMean");
            byte[] attr = Models.opset(inputSince - 1).input("x", 2, 3, 4)
                    .node(op, new String[] {"x"}, new String[] {"y"}, "axes", l(1), "keepdims", 0L).output("y").bytes();
            byte[] input = Models.opset(inputSince).input("x", 2, 3, 4).initializer(vector("axes", 1))
                    .node(op, new String[] {"x", "axes"}, new String[] {"y"}, "keepdims", 0L).output("y").bytes();
            double[] want = sumOverAxis1(x.toFloatArray(), 2, 3, 4, mean);
            Tensor a = run(attr, Map.of("x", x)), b = run(input, Map.of("x", x));
            assertEquals(Shape.of(2, 4), a.shape());
            assertClose(want, a, 1e-5);
            assertClose(want, b, 1e-5);
            // From the input opset on, an attribute named axes is not part of the op: refused, not ignored.
            byte[] stale = Models.opset(inputSince).input("x", 2, 3, 4)
                    .node(op, new String[] {"x"}, new String[] {"y"}, "axes", l(1)).output("y").bytes();
            OnnxImportException e = importFails(stale);
            assertTrue(e.getMessage().contains("attribute 'axes'"), e.getMessage());
        }
    }

    @Test
    void padTakesAttributesAtOpset2AndInputsFrom11AndNegativePadsCrop() {
        Tensor x = rand(1, 2, 3);
        byte[] v2 = Models.opset(2).input("x", 1, 2, 3)
                .node("Pad", new String[] {"x"}, new String[] {"y"}, "pads", l(0, 1, -1, 0, 0, 2), "value", 1.5)
                .output("y").bytes();
        byte[] v11 = Models.opset(11).input("x", 1, 2, 3).initializer(vector("pads", 0, 1, -1, 0, 0, 2))
                .initializer(Models.scalar("v", 1.5f))
                .node("Pad", new String[] {"x", "pads", "v"}, new String[] {"y"}).output("y").bytes();
        // Axis 1: one row of 1.5 in front; axis 2: first column cropped, two columns of 1.5 behind.
        float[] xv = x.toFloatArray();
        double[] want = new double[1 * 3 * 4];
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 4; c++)
                want[r * 4 + c] = r == 0 || c >= 2 ? 1.5 : xv[(r - 1) * 3 + c + 1];
        for (byte[] m : List.of(v2, v11)) {
            Tensor y = run(m, Map.of("x", x));
            assertEquals(Shape.of(1, 3, 4), y.shape());
            assertClose(want, y, 0);
        }
    }

    @Test
    void squeezeAndUnsqueezeAxesMoveFromAttributeToInputAtOpset13() {
        Tensor x = rand(3, 1, 4);
        byte[] v11 = Models.opset(11).input("x", 3, 1, 4)
                .node("Squeeze", new String[] {"x"}, new String[] {"s"}, "axes", l(1))
                .node("Unsqueeze", new String[] {"s"}, new String[] {"y"}, "axes", l(0, -1)).output("y").bytes();
        byte[] v13 = Models.opset(13).input("x", 3, 1, 4).initializer(vector("a", 1)).initializer(vector("b", 0, -1))
                .node("Squeeze", "s", "x", "a").node("Unsqueeze", "y", "s", "b").output("y").bytes();
        for (byte[] m : List.of(v11, v13)) {
            Tensor y = run(m, Map.of("x", x));
            assertEquals(Shape.of(1, 3, 4, 1), y.shape());
            assertArrayEquals(x.toFloatArray(), y.toFloatArray());
        }
    }

    @Test
    void reshapeCopiesZerosAndInfersMinusOneUnlessAllowzero() {
        Tensor x = rand(2, 3, 4);
        byte[] m = Models.opset(14).input("x", 2, 3, 4).initializer(vector("s", -1, 0))
                .node("Reshape", "y", "x", "s").output("y").bytes();
        Tensor y = run(m, Map.of("x", x));
        assertEquals(Shape.of(8, 3), y.shape());
        assertArrayEquals(x.toFloatArray(), y.toFloatArray());
        // allowzero = 1: the 0 is a real zero, so 24 elements cannot fill [-1, 0].
        byte[] zero = Models.opset(14).input("x", 2, 3, 4).initializer(vector("s", -1, 0))
                .node("Reshape", new String[] {"x", "s"}, new String[] {"y"}, "allowzero", 1L).output("y").bytes();
        OnnxImportException e = importFails(zero);
        assertEquals(OnnxImportException.Kind.INVALID, e.kind());
        assertTrue(e.getMessage().contains("Reshape, opset 14") && e.getMessage().contains("-1"), e.getMessage());
    }

    // ---- folding and parameters ----

    @Test
    void shapeArithmeticFoldsAtImportAndLeavesOnlyTheReshape() {
        // y = Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])), PyTorch's flatten.
        byte[] m = Models.opset(13).input("x", 2, 3, 4, 5)
                .initializer(Models.longs("zero", new long[0], 0)).initializer(vector("minus1", -1))
                .initializer(vector("ax0", 0))
                .node("Shape", "shape", "x")
                .node("Gather", new String[] {"shape", "zero"}, new String[] {"n"}, "axis", 0L)
                .node("Unsqueeze", "n1", "n", "ax0")
                .node("Concat", new String[] {"n1", "minus1"}, new String[] {"target"}, "axis", 0L)
                .node("Cast", new String[] {"target"}, new String[] {"target64"}, "to", (long) Models.INT64)
                .node("Reshape", "y", "x", "target64").output("y").bytes();
        ImportedModel im = OnnxImporter.importModel(m, OnnxImporter.Options.defaults());
        List<Node> nodes = im.graph().nodes();
        assertEquals(1, nodes.size(), nodes.toString());
        assertTrue(nodes.getFirst().op() instanceof Reshape);
        assertEquals(Shape.of(2, 60), im.graph().outputs().get("y").shape());
        Tensor x = rand(2, 3, 4, 5);
        assertArrayEquals(x.toFloatArray(), run(m, Map.of("x", x)).toFloatArray());
    }

    @Test
    void initializersBecomeParametersWithTheirValuesAndFillsBecomeConstantInits() {
        float[] w = new float[2 * 3];
        for (int i = 0; i < w.length; i++) w[i] = i - 2.5f;
        byte[] m = Models.opset(13).input("x", 4, 3).initializer(floats("W", l(2, 3), w))
                .initializer(vector("bshape", 2))
                .node(("ConstantOfShape"), new String[] {"bshape"}, new String[] {"b"}, "value", floats("v", l(1), 0.25f))
                .node("Gemm", new String[] {"x", "W", "b"}, new String[] {"y"}, "transB", 1L).output("y").bytes();
        ImportedModel im = OnnxImporter.importModel(m, OnnxImporter.Options.defaults());
        Value wp = im.graph().value("W"), bp = im.graph().value("b");
        assertEquals(Value.Kind.PARAM, wp.kind());
        assertEquals(Shape.of(2, 3), wp.shape());
        assertArrayEquals(floats("W", l(2, 3), w).getRawData().toByteArray(), im.values().get("W"));
        assertEquals(Init.constant(0.25), im.graph().inits().get(bp));
        assertFalse(im.values().containsKey("b"), "a fill stores no bytes");
        assertTrue(im.graph().nodes().stream().anyMatch(n -> n.op() instanceof Dense), "fully connected as Dense");
        Tensor x = rand(4, 3);
        float[] xv = x.toFloatArray();
        double[] want = new double[8];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 2; j++) {
                double s = 0.25;
                for (int k = 0; k < 3; k++) s += xv[i * 3 + k] * w[j * 3 + k];
                want[i * 2 + j] = s;
            }
        assertClose(want, run(m, Map.of("x", x)), 1e-5);
    }

    @Test
    void importedPlanSavesWithItsValuesAndRunsTheSameAfterLoading(@TempDir Path dir) throws Exception {
        float[] w = new float[2 * 3 * 3 * 3];
        for (int i = 0; i < w.length; i++) w[i] = (float) Math.sin(i);
        byte[] m = Models.opset(13).input("x", 1, 3, 5, 5).initializer(floats("W", l(2, 3, 3, 3), w))
                .node("Conv", new String[] {"x", "W"}, new String[] {"c"}, "pads", l(1, 1, 1, 1))
                .node("Relu", "y", "c").output("y").bytes();
        Plan plan = OnnxImporter.importModel(m, OnnxImporter.Options.defaults()).compile();
        Path f = dir.resolve("m.stride");
        PlanFile.save(plan, f);
        Tensor x = rand(1, 3, 5, 5);
        Tensor before, after;
        try (Session s = Session.open(plan)) { before = s.run(Map.of("x", x)).get("y"); }
        try (Session s = Session.open(PlanFile.load(f))) { after = s.run(Map.of("x", x)).get("y"); }
        assertArrayEquals(before.toFloatArray(), after.toFloatArray());
        // And the convolution is the hand one at an interior point: y[0, 1, 2, 2].
        float[] xv = x.toFloatArray();
        double s = 0;
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 3; i++)
                for (int j = 0; j < 3; j++) s += xv[c * 25 + (1 + i) * 5 + 1 + j] * w[((1 * 3 + c) * 3 + i) * 3 + j];
        assertEquals(Math.max(0, s), before.get(0, 1, 2, 2), 1e-5);
    }

    // ---- operators with several forms ----

    @Test
    void gemmWithTransposesAlphaBetaAndBroadcastC() {
        Tensor a = rand(3, 2), b = rand(3, 4), c = rand(1, 4);
        byte[] m = Models.opset(13).input("a", 3, 2).input("b", 3, 4).input("c", 1, 4)
                .node("Gemm", new String[] {"a", "b", "c"}, new String[] {"y"}, "transA", 1L, "alpha", 0.5, "beta", 2.0)
                .output("y").bytes();
        float[] av = a.toFloatArray(), bv = b.toFloatArray(), cv = c.toFloatArray();
        double[] want = new double[2 * 4];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 4; j++) {
                double s = 0;
                for (int k = 0; k < 3; k++) s += av[k * 2 + i] * bv[k * 4 + j];
                want[i * 4 + j] = 0.5 * s + 2 * cv[j];
            }
        assertClose(want, run(m, Map.of("a", a, "b", b, "c", c)), 1e-5);
    }

    @Test
    void matmulBroadcastsBatchDimensionsAndPromotesVectors() {
        Tensor a = rand(2, 1, 3, 4), b = rand(5, 4, 2);
        byte[] m = Models.opset(13).input("a", 2, 1, 3, 4).input("b", 5, 4, 2).node("MatMul", "y", "a", "b")
                .output("y").bytes();
        Tensor y = run(m, Map.of("a", a, "b", b));
        assertEquals(Shape.of(2, 5, 3, 2), y.shape());
        for (int p = 0; p < 2; p++)
            for (int q = 0; q < 5; q++)
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 2; j++) {
                        double s = 0;
                        for (int k = 0; k < 4; k++) s += a.get(p, 0, i, k) * b.get(q, k, j);
                        assertEquals(s, y.get(p, q, i, j), 1e-5);
                    }
        Tensor v = rand(4), mat = rand(2, 3, 4);
        byte[] mv = Models.opset(13).input("m", 2, 3, 4).input("v", 4).node("MatMul", "y", "m", "v").output("y").bytes();
        Tensor yv = run(mv, Map.of("m", mat, "v", v));
        assertEquals(Shape.of(2, 3), yv.shape());
        for (int p = 0; p < 2; p++)
            for (int i = 0; i < 3; i++) {
                double s = 0;
                for (int k = 0; k < 4; k++) s += mat.get(p, i, k) * v.get(k);
                assertEquals(s, yv.get(p, i), 1e-5);
            }
        byte[] vm = Models.opset(13).input("v", 4).input("m", 2, 4, 3).node("MatMul", "y", "v", "m").output("y").bytes();
        assertEquals(Shape.of(2, 3), run(vm, Map.of("v", v, "m", rand(2, 4, 3))).shape());
    }

    @Test
    void sameUpperPadsTheEndAndSameLowerTheStart() {
        Tensor x = rand(1, 1, 4, 4);
        float[] ones = {1, 1, 1, 1};
        for (String mode : new String[] {"SAME_UPPER", "SAME_LOWER"}) {
            // Conv without kernel_shape: taken from W.
            byte[] m = Models.opset(11).input("x", 1, 1, 4, 4).initializer(floats("W", l(1, 1, 2, 2), ones))
                    .node("Conv", new String[] {"x", "W"}, new String[] {"y"}, "auto_pad", mode).output("y").bytes();
            Tensor y = run(m, Map.of("x", x));
            assertEquals(Shape.of(1, 1, 4, 4), y.shape());
            int off = mode.equals("SAME_UPPER") ? 0 : -1;   // the window of output (i, j) starts at (i + off, j + off)
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) {
                    double s = 0;
                    for (int a = 0; a < 2; a++)
                        for (int b = 0; b < 2; b++) {
                            int r = i + off + a, c = j + off + b;
                            if (r >= 0 && r < 4 && c >= 0 && c < 4) s += x.get(0, 0, r, c);
                        }
                    assertEquals(s, y.get(0, 0, i, j), 1e-5, mode + " at " + i + "," + j);
                }
        }
    }

    @Test
    void oneDimensionalConvolutionRunsAs2dWithHeightOne() {
        Tensor x = rand(1, 2, 5);
        float[] w = new float[3 * 2 * 3];
        for (int i = 0; i < w.length; i++) w[i] = (float) Math.cos(i);
        byte[] m = Models.opset(11).input("x", 1, 2, 5).initializer(floats("W", l(3, 2, 3), w))
                .node("Conv", new String[] {"x", "W"}, new String[] {"y"}, "pads", l(1, 1), "strides", l(2))
                .output("y").bytes();
        Tensor y = run(m, Map.of("x", x));
        assertEquals(Shape.of(1, 3, 3), y.shape());
        for (int o = 0; o < 3; o++)
            for (int t = 0; t < 3; t++) {
                double s = 0;
                for (int c = 0; c < 2; c++)
                    for (int k = 0; k < 3; k++) {
                        int p = 2 * t - 1 + k;
                        if (p >= 0 && p < 5) s += x.get(0, c, p) * w[(o * 2 + c) * 3 + k];
                    }
                assertEquals(s, y.get(0, o, t), 1e-5);
            }
    }

    @Test
    void batchNormTrainingModeUpdatesRunningStatisticsWithOnnxMomentum() {
        Tensor x = rand(2, 3, 2, 2), scale = rand(3), bias = rand(3), mean = rand(3);
        float[] varv = {0.5f, 1.5f, 2f};
        Tensor var = Tensor.of(Shape.of(3), varv);
        byte[] m = Models.opset(15).input("x", 2, 3, 2, 2).input("s", 3).input("b", 3).input("m", 3).input("v", 3)
                .node("BatchNormalization", new String[] {"x", "s", "b", "m", "v"}, new String[] {"y", "rm", "rv"},
                        "training_mode", 1L, "momentum", 0.8, "epsilon", 1e-3)
                .output("y").output("rm").output("rv").bytes();
        Map<String, Tensor> out = runAll(m, OnnxImporter.Options.defaults(),
                Map.of("x", x, "s", scale, "b", bias, "m", mean, "v", var));
        for (int c = 0; c < 3; c++) {
            double sum = 0, sq = 0;
            for (int n = 0; n < 2; n++) for (int i = 0; i < 4; i++) sum += x.get(0L + ((n * 3 + c) * 4 + i));
            double mu = sum / 8;
            for (int n = 0; n < 2; n++) for (int i = 0; i < 4; i++) sq += Math.pow(x.get(0L + ((n * 3 + c) * 4 + i)) - mu, 2);
            double biased = sq / 8;
            assertEquals(mean.get(c) * 0.8 + mu * 0.2, out.get("rm").get(c), 1e-5);
            assertEquals(varv[c] * 0.8 + biased * 0.2, out.get("rv").get(c), 1e-5);
            double y0 = (x.get(0L + (c * 4)) - mu) / Math.sqrt(biased + 1e-3) * scale.get(c) + bias.get(c);
            assertEquals(y0, out.get("y").get(0L + c * 4), 1e-4);
        }
    }

    @Test
    void upsampleNearestMapsOntoUpsample2dAndOtherSamplingOntoResize2d() {
        Tensor x = rand(1, 1, 2, 3);
        byte[] up = Models.opset(9).input("x", 1, 1, 2, 3)
                .initializer(floats("scales", l(4), 1, 1, 2, 3))
                .node("Upsample", new String[] {"x", "scales"}, new String[] {"y"}, "mode", "nearest").output("y").bytes();
        ImportedModel im = OnnxImporter.importModel(up, OnnxImporter.Options.defaults());
        assertTrue(im.graph().nodes().getFirst().op() instanceof Upsample2d);
        Tensor y = run(up, Map.of("x", x));
        assertEquals(Shape.of(1, 1, 4, 9), y.shape());
        for (int i = 0; i < 4; i++) for (int j = 0; j < 9; j++) assertEquals(x.get(0, 0, i / 2, j / 3), y.get(0, 0, i, j));
        // Linear downsampling 4 -> 3 with half_pixel: source (dst + 0.5) * 4/3 - 0.5 matches Upsample2d's bilinear,
        // but asymmetric coordinates (dst * 4/3) do not: those become Resize2d.
        byte[] ok = resize("half_pixel"), other = resize("asymmetric");
        assertEquals(Upsample2d.Mode.BILINEAR, ((Upsample2d) OnnxImporter.importModel(ok, OnnxImporter.Options.defaults())
                .graph().nodes().getFirst().op()).mode());
        Resize2d op = (Resize2d) OnnxImporter.importModel(other, OnnxImporter.Options.defaults()).graph().nodes()
                .getFirst().op();
        assertEquals(new Resize2d(Resize2d.Mode.LINEAR, Resize2d.Coord.ASYMMETRIC, Resize2d.Nearest.ROUND_PREFER_FLOOR,
                3, 3, 0.75, 0.75), op);
        Tensor x4 = rand(1, 1, 4, 4);
        Tensor y4 = run(other, Map.of("x", x4));
        double[] want = new double[9];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                double r = i * 4 / 3.0, q = j * 4 / 3.0;   // asymmetric: dst / scale, scale 3/4
                int r0 = (int) r, q0 = (int) q, r1 = Math.min(r0 + 1, 3), q1 = Math.min(q0 + 1, 3);
                double fr = r - r0, fq = q - q0;
                want[i * 3 + j] = (1 - fr) * ((1 - fq) * x4.get(0, 0, r0, q0) + fq * x4.get(0, 0, r0, q1))
                        + fr * ((1 - fq) * x4.get(0, 0, r1, q0) + fq * x4.get(0, 0, r1, q1));
            }
        assertClose(want, y4, 1e-5);
    }

    private static byte[] resize(String coord) {
        return Models.opset(13).input("x", 1, 1, 4, 4).initializer(Models.longs("sizes", l(4), 1, 1, 3, 3))
                .node("Resize", new String[] {"x", "", "", "sizes"}, new String[] {"y"}, "mode", "linear",
                        "coordinate_transformation_mode", coord).output("y").bytes();
    }

    @Test
    void dropoutIsTheIdentityInInferenceAndTrainingWithARatioIsRefused() {
        Tensor x = rand(2, 3);
        byte[] m = Models.opset(13).input("x", 2, 3).initializer(Models.scalar("r", 0.3f))
                .node("Dropout", "y", "x", "r").output("y").bytes();
        assertArrayEquals(x.toFloatArray(), run(m, Map.of("x", x)).toFloatArray());
        byte[] train = Models.opset(13).input("x", 2, 3).initializer(Models.scalar("r", 0.3f))
                .initializer(dev.stride.onnx.proto.Onnx.TensorProto.newBuilder().setName("t").setDataType(Models.BOOL).addInt32Data(1).build())
                .node("Dropout", "y", "x", "r", "t").output("y").bytes();
        OnnxImportException e = importFails(train);
        assertTrue(e.unsupported() && e.getMessage().contains("training_mode"), e.getMessage());
    }

    // ---- inputs, shapes, import-time values ----

    @Test
    void symbolicBatchNeedsAValueAndBatchOptionGivesIt() {
        byte[] m = Models.opset(13).symbolicInput("x", 3).node("Relu", "y", "x").output("y").bytes();
        OnnxImportException e = importFails(m);
        assertTrue(e.unsupported() && e.getMessage().contains("graph input 'x'") && e.getMessage().contains("'N'"),
                e.getMessage());
        ImportedModel im = OnnxImporter.importModel(m, OnnxImporter.Options.defaults().batch(4));
        assertEquals(Shape.of(4, 3), im.graph().value("x").shape());
    }

    @Test
    void shapeInputsFedAtRunTimeAreListedAndBoundAtImport() {
        byte[] m = Models.opset(14).input("x", 2, 6).typedInput("shape", Models.INT64, 2).node("Reshape", "y", "x", "shape")
                .output("y").bytes();
        assertEquals(List.of("shape"), List.copyOf(OnnxImporter.importTimeInputs(m)));
        assertEquals(List.of("x", "shape"), OnnxImporter.feedInputs(m));
        OnnxImportException e = importFails(m);
        assertTrue(e.unsupported() && e.getMessage().contains("bind it"), e.getMessage());
        byte[] shape = vector("shape", 3, 4).toByteArray();
        ImportedModel im = OnnxImporter.importModel(m, OnnxImporter.Options.defaults().constant("shape", shape));
        assertEquals(Shape.of(3, 4), im.graph().outputs().get("y").shape());
        assertEquals(List.of("x"), im.inputNames());
    }

    // ---- refusals name the node, op, opset and what is unsupported ----

    @Test
    void unsupportedFeaturesAreNamed() {
        byte[] cubic = Models.opset(13).input("x", 1, 1, 3, 3).initializer(floats("s", l(4), 1, 1, 2, 2))
                .node("Resize", new String[] {"x", "", "s"}, new String[] {"y"}, "mode", "cubic").output("y").bytes();
        OnnxImportException e = importFails(cubic);
        assertTrue(e.unsupported());
        assertTrue(e.getMessage().startsWith("node 'resize_0' (Resize, opset 13): unsupported: mode 'cubic'"), e.getMessage());

        byte[] attr = Models.opset(13).input("x", 2).node("Relu", new String[] {"x"}, new String[] {"y"}, "gamma", 2L)
                .output("y").bytes();
        e = importFails(attr);
        assertTrue(e.unsupported() && e.getMessage().contains("(Relu, opset 13)")
                && e.getMessage().contains("attribute 'gamma' is not supported"), e.getMessage());

        byte[] unknown = Models.opset(13).input("x", 2).node("Frobnicate", "y", "x").output("y").bytes();
        e = importFails(unknown);
        assertTrue(e.unsupported() && e.getMessage().contains("no mapping for operator Frobnicate"), e.getMessage());

        byte[] hardmax = Models.opset(13).input("x", 1, 4).node("Hardmax", "y", "x").output("y").bytes();
        e = importFails(hardmax);
        assertTrue(e.unsupported() && e.getMessage().contains("(Hardmax, opset 13)")
                && e.getMessage().contains("the IR has no hardmax"), e.getMessage());

        byte[] ints = Models.opset(13).typedInput("x", Models.INT32, 2).node("Relu", "y", "x").output("y").bytes();
        e = importFails(ints);
        assertTrue(e.unsupported() && e.getMessage().contains("int32") && e.getMessage().contains("float CNN engine"),
                e.getMessage());

        byte[] bn = Models.opset(7).input("x", 1, 2, 2, 2).initializer(floats("s", l(2), 1, 1))
                .initializer(floats("b", l(2), 0, 0)).initializer(floats("m", l(2), 0, 0)).initializer(floats("v", l(2), 1, 1))
                .node("BatchNormalization", new String[] {"x", "s", "b", "m", "v"}, new String[] {"y"}, "spatial", 0L)
                .output("y").bytes();
        e = importFails(bn);
        assertTrue(e.unsupported() && e.getMessage().contains("spatial = 0"), e.getMessage());
    }

    // ---- malformed models ----

    @Test
    void malformedModelsFailCleanlyNamingTheTensorOrNode() {
        OnnxImportException e = importFails(new byte[] {0x0A, (byte) 0xFF, 0x01});
        assertEquals(OnnxImportException.Kind.INVALID, e.kind());
        assertTrue(e.getMessage().startsWith("model: not a valid ONNX ModelProto"), e.getMessage());

        var shortRaw = floats("W", l(2, 3), 1, 2, 3, 4, 5);   // 5 floats for 6 elements
        e = importFails(Models.opset(13).input("x", 2).initializer(shortRaw).node("Relu", "y", "x").output("y").bytes());
        assertTrue(e.getMessage().contains("tensor 'W'") && e.getMessage().contains("raw_data holds 20 bytes"),
                e.getMessage());

        var overflow = Models.floats("W", l(1L << 40, 1L << 40), 1);
        e = importFails(Models.opset(13).input("x", 2).initializer(overflow).node("Relu", "y", "x").output("y").bytes());
        assertTrue(e.getMessage().contains("tensor 'W'") && e.getMessage().contains("overflow"), e.getMessage());

        var huge = Models.floats("W", l(1L << 30), 1);   // claims a billion floats, holds one
        e = importFails(Models.opset(13).input("x", 2).initializer(huge).node("Relu", "y", "x").output("y").bytes());
        assertTrue(e.getMessage().contains("tensor 'W'"), e.getMessage());

        e = importFails(Models.opset(13).input("x", 2).node("Add", "y", "x", "nowhere").output("y").bytes());
        assertTrue(e.getMessage().contains("(Add, opset 13)") && e.getMessage().contains("'nowhere'"), e.getMessage());

        e = importFails(Models.opset(13).input("x", 2).node("Relu", "y", "x").output("z").bytes());
        assertTrue(e.getMessage().contains("graph output 'z'"), e.getMessage());

        e = importFails(Models.opset(13).input("x", 2, 3).input("w", 4, 5).node("MatMul", "y", "x", "w").output("y").bytes());
        assertEquals(OnnxImportException.Kind.INVALID, e.kind());
        assertTrue(e.getMessage().contains("(MatMul, opset 13)") && e.getMessage().contains("inner dimensions"), e.getMessage());
    }

    @Test
    void constantFoldingIsBoundedByTheFileSize() {
        // ConstantOfShape of 2^28 elements stays a fill; adding a dense tensor to it must be expanded, over budget.
        byte[] m = Models.opset(13).input("x", 2).initializer(vector("shape", 1 << 14, 1 << 14))
                .initializer(floats("d", l(1 << 14), new float[1 << 14]))
                .node("ConstantOfShape", "big", "shape")
                .node("Add", "sum", "big", "d")
                .node("Relu", "y", "x").output("y").bytes();
        OnnxImportException e = assertThrows(OnnxImportException.class,
                () -> OnnxImporter.importModel(m, OnnxImporter.Options.defaults().maxFoldingBytes(1 << 20)));
        assertTrue(e.getMessage().contains("constant folding would allocate 268435456 elements"), e.getMessage());
        assertNotNull(OnnxImporter.importModel(Models.opset(13).input("x", 2).initializer(vector("shape", 1 << 14, 1 << 14))
                .node("ConstantOfShape", "big", "shape").node("Relu", "y", "x").output("y").bytes(),
                OnnxImporter.Options.defaults().maxFoldingBytes(1 << 20)), "a fill alone costs nothing");
        assertTrue(Arrays.asList(OnnxImporter.mappedOperators().toArray()).contains("Conv"));
    }
}
