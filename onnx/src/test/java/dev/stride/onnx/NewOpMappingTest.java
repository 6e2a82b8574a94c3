package dev.stride.onnx;

import dev.stride.engine.Session;
import dev.stride.engine.Tensor;
import dev.stride.graph.Node;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.Gather;
import dev.stride.graph.op.Reshape;
import dev.stride.graph.op.Resize2d;
import dev.stride.graph.op.Transpose;
import dev.stride.graph.op.Unary;
import dev.stride.graph.op.Upsample2d;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.stride.onnx.Models.floats;
import static dev.stride.onnx.Models.vector;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The mappings of the operators the IR gained for ONNX import (Clip, Pow, Max/Min, the new activations, LRN,
 * InstanceNormalization, LpPool, the ReduceMax family, Transpose, Gather, Pad modes, Resize through Resize2d),
 * each against a hand computation written here; the conformance suites check them against ONNX's own data.
 */
class NewOpMappingTest {
    private final Random rnd = new Random(11);

    private Tensor rand(int... dims) {
        float[] v = new float[Math.toIntExact(Shape.of(dims).size())];
        for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
        return Tensor.of(Shape.of(dims), v);
    }

    private static long[] l(long... v) { return v; }

    private static Tensor run(byte[] model, Map<String, Tensor> inputs) {
        ImportedModel m = OnnxImporter.importModel(model, OnnxImporter.Options.defaults());
        try (Session s = Session.open(m.compile())) {
            return s.run(inputs).values().iterator().next();
        }
    }

    private static List<Op> ops(byte[] model) {
        return OnnxImporter.importModel(model, OnnxImporter.Options.defaults()).graph().nodes().stream().map(Node::op).toList();
    }

    private static void assertClose(double[] want, Tensor got, double tol) {
        assertEquals(want.length, got.size(), "element count");
        for (int i = 0; i < want.length; i++)
            assertEquals(want[i], got.get(i), tol * Math.max(1, Math.abs(want[i])), "element " + i);
    }

    private static double[] map(Tensor x, java.util.function.DoubleUnaryOperator f) {
        double[] y = new double[(int) x.size()];
        for (int i = 0; i < y.length; i++) y[i] = f.applyAsDouble(x.get(i));
        return y;
    }

    @Test
    void clipBoundsAreAttributesBeforeOpset11AndOptionalInputsFrom11() {
        Tensor x = rand(3, 4);
        // Clip-6: only min given; max defaults to float32's largest value.
        byte[] six = Models.opset(6).input("x", 3, 4).node("Clip", new String[] {"x"}, new String[] {"y"}, "min", -0.5)
                .output("y").bytes();
        assertClose(map(x, v -> Math.max(v, -0.5)), run(six, Map.of("x", x)), 1e-6);
        // Clip-13: min omitted (empty name), max an initializer.
        byte[] thirteen = Models.opset(13).input("x", 3, 4).initializer(Models.scalar("hi", 0.25f))
                .node("Clip", new String[] {"x", "", "hi"}, new String[] {"y"}).output("y").bytes();
        assertClose(map(x, v -> Math.min(v, 0.25)), run(thirteen, Map.of("x", x)), 1e-6);
        // min > max: every output is max.
        byte[] crossed = Models.opset(13).input("x", 3, 4).initializer(Models.scalar("lo", 1f))
                .initializer(Models.scalar("hi", -1f))
                .node("Clip", new String[] {"x", "lo", "hi"}, new String[] {"y"}).output("y").bytes();
        assertClose(map(x, v -> -1), run(crossed, Map.of("x", x)), 0);
        // A bound computed at run time is outside a static graph.
        byte[] runtime = Models.opset(13).input("x", 3, 4).input("lo")
                .node("Clip", new String[] {"x", "lo"}, new String[] {"y"}).output("y").bytes();
        OnnxImportException e = assertThrows(OnnxImportException.class,
                () -> OnnxImporter.importModel(runtime, OnnxImporter.Options.defaults()));
        assertTrue(e.unsupported() && e.getMessage().contains("import time"), e.getMessage());
    }

    @Test
    void activationsWithOnnxDefaults() {
        Tensor x = rand(2, 5);
        double a = 1.67326319217681884765625, g = 1.05070102214813232421875;   // ONNX's float32 defaults
        byte[] selu = Models.opset(13).input("x", 2, 5).node("Selu", "y", "x").output("y").bytes();
        assertClose(map(x, v -> v > 0 ? g * v : g * a * (Math.exp(v) - 1)), run(selu, Map.of("x", x)), 1e-6);
        byte[] hs = Models.opset(13).input("x", 2, 5).node("HardSigmoid", "y", "x").output("y").bytes();
        assertClose(map(x, v -> Math.clamp(0.2 * v + 0.5, 0, 1)), run(hs, Map.of("x", x)), 1e-6);
        byte[] hs2 = Models.opset(13).input("x", 2, 5)
                .node("HardSigmoid", new String[] {"x"}, new String[] {"y"}, "alpha", 0.5, "beta", 0.25).output("y").bytes();
        assertClose(map(x, v -> Math.clamp(0.5 * v + 0.25, 0, 1)), run(hs2, Map.of("x", x)), 1e-6);
        byte[] swish = Models.opset(14).input("x", 2, 5).node("HardSwish", "y", "x").output("y").bytes();
        assertClose(map(x, v -> v * Math.clamp(v / 6 + 0.5, 0, 1)), run(swish, Map.of("x", x)), 1e-6);
    }

    @Test
    void powWithConstantExponents() {
        Tensor x = rand(2, 3);
        byte[] square = Models.opset(13).input("x", 2, 3).initializer(Models.scalar("e", 2f))
                .node("Pow", "y", "x", "e").output("y").bytes();
        assertEquals(new Unary(Unary.Fn.SQUARE), ops(square).getFirst());
        assertClose(map(x, v -> v * v), run(square, Map.of("x", x)), 1e-6);
        // An int64 exponent vector broadcast over the rows: Binary POW with the exponents as float parameters.
        Tensor pos = Tensor.of(Shape.of(2, 3), 0.5f, 1.5f, 2f, 3f, 0.25f, 1f);
        byte[] ints = Models.opset(13).input("x", 2, 3).initializer(vector("e", 3, -1, 2))
                .node("Pow", "y", "x", "e").output("y").bytes();
        assertEquals(new Binary(Binary.Kind.POW), ops(ints).getLast());
        double[] e = {3, -1, 2};
        double[] want = new double[6];
        for (int i = 0; i < 6; i++) want[i] = Math.pow(pos.get(i), e[i % 3]);
        assertClose(want, run(ints, Map.of("x", pos)), 1e-6);
        // A runtime exponent.
        byte[] both = Models.opset(13).input("x", 2, 3).input("e", 3).node("Pow", "y", "x", "e").output("y").bytes();
        Tensor ev = Tensor.of(Shape.of(3), 0.5f, 2f, -1f);
        for (int i = 0; i < 6; i++) want[i] = Math.pow(pos.get(i), ev.get(i % 3));
        ImportedModel m = OnnxImporter.importModel(both, OnnxImporter.Options.defaults());
        try (Session s = Session.open(m.compile())) {
            assertClose(want, s.run(Map.of("x", pos, "e", ev)).get("y"), 1e-6);
        }
    }

    @Test
    void variadicMaxAndMinBroadcast() {
        Tensor a = rand(2, 3), b = rand(3);
        byte[] max = Models.opset(13).input("a", 2, 3).input("b", 3).initializer(Models.scalar("k", 0.1f))
                .node("Max", "y", "a", "b", "k").output("y").bytes();
        byte[] min = Models.opset(13).input("a", 2, 3).input("b", 3).initializer(Models.scalar("k", 0.1f))
                .node("Min", "y", "a", "b", "k").output("y").bytes();
        double[] hi = new double[6], lo = new double[6];
        for (int i = 0; i < 6; i++) {
            hi[i] = Math.max(Math.max(a.get(i), b.get(i % 3)), 0.1f);
            lo[i] = Math.min(Math.min(a.get(i), b.get(i % 3)), 0.1f);
        }
        for (var c : new Object[][] {{max, hi}, {min, lo}}) {
            ImportedModel m = OnnxImporter.importModel((byte[]) c[0], OnnxImporter.Options.defaults());
            try (Session s = Session.open(m.compile())) {
                assertClose((double[]) c[1], s.run(Map.of("a", a, "b", b)).get("y"), 0);
            }
        }
        // Before opset 8 there is no broadcasting.
        byte[] old = Models.opset(6).input("a", 2, 3).input("b", 3).node("Max", "y", "a", "b").output("y").bytes();
        OnnxImportException e = assertThrows(OnnxImportException.class,
                () -> OnnxImporter.importModel(old, OnnxImporter.Options.defaults()));
        assertTrue(e.getMessage().contains("no broadcasting before opset 8"), e.getMessage());
    }

    @Test
    void instanceNormalizationOfRank3ThroughAView() {
        int n = 2, c = 3, len = 5;
        Tensor x = rand(n, c, len);
        byte[] m = Models.opset(13).input("x", n, c, len).initializer(floats("s", l(c), 1f, 2f, -0.5f))
                .initializer(floats("b", l(c), 0f, 0.5f, 1f))
                .node("InstanceNormalization", new String[] {"x", "s", "b"}, new String[] {"y"}, "epsilon", 1e-3)
                .output("y").bytes();
        double[] s = {1, 2, -0.5}, b = {0, 0.5, 1}, want = new double[n * c * len];
        for (int i = 0; i < n * c; i++) {
            double mean = 0, var = 0;
            for (int k = 0; k < len; k++) mean += x.get((long) i * len + k) / len;
            for (int k = 0; k < len; k++) var += Math.pow(x.get((long) i * len + k) - mean, 2) / len;
            for (int k = 0; k < len; k++)
                want[i * len + k] = s[i % c] * (x.get((long) i * len + k) - mean) / Math.sqrt(var + (float) 1e-3) + b[i % c];
        }
        Tensor y = run(m, Map.of("x", x));
        assertEquals(Shape.of(n, c, len), y.shape());
        assertClose(want, y, 1e-5);
    }

    @Test
    void lrnAcrossChannels() {
        int c = 5;
        Tensor x = rand(1, c, 2, 2);
        byte[] m = Models.opset(13).input("x", 1, c, 2, 2).node("LRN", new String[] {"x"}, new String[] {"y"},
                "size", 3L, "alpha", 0.01, "beta", 0.5, "bias", 2.0).output("y").bytes();
        double[] want = new double[c * 4];
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < 4; p++) {
                double sq = 0;
                for (int k = Math.max(0, ch - 1); k <= Math.min(c - 1, ch + 1); k++) sq += Math.pow(x.get((long) k * 4 + p), 2);
                want[ch * 4 + p] = x.get((long) ch * 4 + p) / Math.pow(2.0 + (float) 0.01 / 3 * sq, 0.5);
            }
        assertClose(want, run(m, Map.of("x", x)), 1e-5);
    }

    @Test
    void lpPool1dWithPaddingAndGlobalLpPool() {
        Tensor x = rand(1, 2, 5);
        byte[] m = Models.opset(18).input("x", 1, 2, 5).node("LpPool", new String[] {"x"}, new String[] {"y"},
                "kernel_shape", l(3), "strides", l(2), "pads", l(2, 1), "p", 3L).output("y").bytes();
        // Padded row: [0 0 x0 x1 x2 x3 x4 0]: windows start at 0, 2, 4 (output floor((5 + 3 - 3) / 2) + 1 = 3).
        double[] want = new double[6];
        for (int ch = 0; ch < 2; ch++)
            for (int o = 0; o < 3; o++) {
                double s = 0;
                for (int k = 0; k < 3; k++) {
                    int i = o * 2 + k - 2;
                    if (i >= 0 && i < 5) s += Math.pow(Math.abs(x.get((long) ch * 5 + i)), 3);
                }
                want[ch * 3 + o] = Math.cbrt(s);
            }
        Tensor y = run(m, Map.of("x", x));
        assertEquals(Shape.of(1, 2, 3), y.shape());
        assertClose(want, y, 1e-5);

        byte[] g = Models.opset(13).input("x", 1, 2, 5).node("GlobalLpPool", "y", "x").output("y").bytes();
        double[] norms = new double[2];
        for (int ch = 0; ch < 2; ch++) {
            double s = 0;
            for (int i = 0; i < 5; i++) s += Math.pow(x.get((long) ch * 5 + i), 2);
            norms[ch] = Math.sqrt(s);
        }
        Tensor gy = run(g, Map.of("x", x));
        assertEquals(Shape.of(1, 2, 1), gy.shape());
        assertClose(norms, gy, 1e-5);
    }

    @Test
    void reduceMaxFamily() {
        Tensor x = rand(2, 3, 4);
        String[] ops = {"ReduceMax", "ReduceMin", "ReduceL1", "ReduceL2", "ReduceSumSquare"};
        for (String op : ops) {
            byte[] m = Models.opset(13).input("x", 2, 3, 4)
                    .node(op, new String[] {"x"}, new String[] {"y"}, "axes", l(1), "keepdims", 0L).output("y").bytes();
            double[] want = new double[8];
            for (int a = 0; a < 2; a++)
                for (int d = 0; d < 4; d++) {
                    double mx = Double.NEGATIVE_INFINITY, mn = Double.POSITIVE_INFINITY, l1 = 0, l2 = 0;
                    for (int b = 0; b < 3; b++) {
                        double v = x.get(a, b, d);
                        mx = Math.max(mx, v);
                        mn = Math.min(mn, v);
                        l1 += Math.abs(v);
                        l2 += v * v;
                    }
                    want[a * 4 + d] = switch (op) {
                        case "ReduceMax" -> mx;
                        case "ReduceMin" -> mn;
                        case "ReduceL1" -> l1;
                        case "ReduceL2" -> Math.sqrt(l2);
                        default -> l2;
                    };
                }
            Tensor y = run(m, Map.of("x", x));
            assertEquals(Shape.of(2, 4), y.shape(), op);
            assertClose(want, y, 1e-5);
        }
        // From opset 18 the axes are an input; noop_with_empty_axes without axes reduces over no axis.
        byte[] input = Models.opset(18).input("x", 2, 3, 4).initializer(vector("axes", -1))
                .node("ReduceMax", "y", "x", "axes").output("y").bytes();
        Tensor y = run(input, Map.of("x", x));
        assertEquals(Shape.of(2, 3, 1), y.shape());
        for (int r = 0; r < 6; r++) {
            double mx = Double.NEGATIVE_INFINITY;
            for (int d = 0; d < 4; d++) mx = Math.max(mx, x.get((long) r * 4 + d));
            assertEquals(mx, y.get(r), 0);
        }
        byte[] noop = Models.opset(18).input("x", 2, 3, 4)
                .node("ReduceSumSquare", new String[] {"x"}, new String[] {"y"}, "noop_with_empty_axes", 1L)
                .output("y").bytes();
        assertClose(map(x, v -> v * v), run(noop, Map.of("x", x)), 1e-6);
    }

    @Test
    void transposeOfActivations() {
        Tensor x = rand(2, 3, 4);
        byte[] m = Models.opset(13).input("x", 2, 3, 4)
                .node("Transpose", new String[] {"x"}, new String[] {"y"}, "perm", l(2, 0, 1)).output("y").bytes();
        assertTrue(ops(m).getFirst() instanceof Transpose);
        Tensor y = run(m, Map.of("x", x));
        assertEquals(Shape.of(4, 2, 3), y.shape());
        for (int a = 0; a < 4; a++) for (int b = 0; b < 2; b++) for (int c = 0; c < 3; c++)
            assertEquals(x.get(b, c, a), y.get(a, b, c));
        // Moving only an axis of size 1 keeps the element order: a reshape.
        byte[] ones = Models.opset(13).input("x", 2, 1, 4)
                .node("Transpose", new String[] {"x"}, new String[] {"y"}, "perm", l(1, 0, 2)).output("y").bytes();
        assertTrue(ops(ones).getFirst() instanceof Reshape);
    }

    @Test
    void gatherOfActivationsWithConstantIndices() {
        Tensor x = rand(3, 4);
        byte[] m = Models.opset(13).input("x", 3, 4).initializer(Models.longs("i", l(2, 2), 3, -1, 0, 1))
                .node("Gather", new String[] {"x", "i"}, new String[] {"y"}, "axis", 1L).output("y").bytes();
        assertTrue(ops(m).getFirst() instanceof Gather);
        Tensor y = run(m, Map.of("x", x));
        assertEquals(Shape.of(3, 2, 2), y.shape());
        int[] idx = {3, 3, 0, 1};
        for (int r = 0; r < 3; r++) for (int k = 0; k < 4; k++) assertEquals(x.get(r, idx[k]), y.get((long) r * 4 + k));
        byte[] out = Models.opset(13).input("x", 3, 4).initializer(vector("i", 4))
                .node("Gather", new String[] {"x", "i"}, new String[] {"y"}, "axis", 1L).output("y").bytes();
        OnnxImportException e = assertThrows(OnnxImportException.class,
                () -> OnnxImporter.importModel(out, OnnxImporter.Options.defaults()));
        assertTrue(e.getMessage().contains("out of range"), e.getMessage());
    }

    @Test
    void padModesAndNegativePads() {
        Tensor x = Tensor.of(Shape.of(2, 3), 1, 2, 3, 4, 5, 6);
        // Axis 0 cropped by one in front, axis 1 padded 2 in front and 4 behind (longer than the axis).
        String[] modes = {"reflect", "edge", "wrap"};
        double[][] rows = {
                {3, 2, 1, 2, 3, 2, 1, 2, 3},       // numpy.pad([1 2 3], (2, 4), 'reflect') on row 0 ...
                {1, 1, 1, 2, 3, 3, 3, 3, 3},
                {2, 3, 1, 2, 3, 1, 2, 3, 1}};
        for (int k = 0; k < modes.length; k++) {
            byte[] m = Models.opset(19).input("x", 2, 3).initializer(vector("p", -1, 2, 0, 4))
                    .node("Pad", new String[] {"x", "p"}, new String[] {"y"}, "mode", modes[k]).output("y").bytes();
            Tensor y = run(m, Map.of("x", x));
            assertEquals(Shape.of(1, 9), y.shape(), modes[k]);
            double[] want = rows[k].clone();
            for (int i = 0; i < want.length; i++) want[i] += 3;   // ... and the kept row is [4 5 6]
            assertClose(want, y, 0);
        }
    }

    @Test
    void resizeThroughResize2dOrUpsample2dAndViewsOfOtherRanks() {
        // Nearest asymmetric round_prefer_ceil 2 -> 5 on the last axis of a rank-3 tensor: a Resize2d on a view.
        Tensor x = rand(2, 3, 2);
        byte[] m = Models.opset(13).input("x", 2, 3, 2).initializer(Models.longs("sizes", l(3), 2, 3, 5))
                .node("Resize", new String[] {"x", "", "", "sizes"}, new String[] {"y"}, "mode", "nearest",
                        "coordinate_transformation_mode", "asymmetric", "nearest_mode", "round_prefer_ceil")
                .output("y").bytes();
        assertTrue(ops(m).stream().anyMatch(o -> o instanceof Resize2d), ops(m).toString());
        Tensor y = run(m, Map.of("x", x));
        assertEquals(Shape.of(2, 3, 5), y.shape());
        for (int r = 0; r < 6; r++)
            for (int o = 0; o < 5; o++) {
                double src = o * 2 / 5.0;   // asymmetric: dst / scale
                int i = (int) Math.min(1, Math.floor(src + 0.5));   // round half up, clamped
                assertEquals(x.get((long) r * 2 + i), y.get((long) r * 5 + o), "row " + r + " col " + o);
            }
        // The detector's Resize (nearest, asymmetric, floor, scale 2) is exactly Upsample2d's nearest.
        byte[] up = Models.opset(11).input("x", 1, 1, 2, 3).initializer(floats("roi", l(0)))
                .initializer(floats("scales", l(4), 1, 1, 2, 2))
                .node("Resize", new String[] {"x", "roi", "scales"}, new String[] {"y"}, "mode", "nearest",
                        "coordinate_transformation_mode", "asymmetric", "nearest_mode", "floor").output("y").bytes();
        assertEquals(Upsample2d.Mode.NEAREST, ((Upsample2d) ops(up).getFirst()).mode());
        // Resizing the channel axis stays refused.
        byte[] channels = Models.opset(13).input("x", 1, 2, 2, 2).initializer(floats("s", l(4), 1, 2, 1, 1))
                .node("Resize", new String[] {"x", "", "s"}, new String[] {"y"}).output("y").bytes();
        OnnxImportException e = assertThrows(OnnxImportException.class,
                () -> OnnxImporter.importModel(channels, OnnxImporter.Options.defaults()));
        assertTrue(e.unsupported() && e.getMessage().contains("last two axes"), e.getMessage());
    }

    /**
     * Floor-mode pooling of one [C, spatial...] sample by brute force: each output cell reduces the window's taps
     * that lie inside the input (max, or the average over them).
     */
    private static double[] bruteForcePool(Tensor x, int[] in, int[] k, int[] s, int[] d, int[] pad, boolean max) {
        int n = in.length, channels = (int) (x.size() / Shape.of(in).size());
        int[] out = new int[n];
        for (int a = 0; a < n; a++) out[a] = (in[a] + 2 * pad[a] - d[a] * (k[a] - 1) - 1) / s[a] + 1;
        int outSize = (int) Shape.of(out).size(), inSize = (int) Shape.of(in).size(), taps = (int) Shape.of(k).size();
        double[] y = new double[channels * outSize];
        for (int ch = 0; ch < channels; ch++)
            for (int o = 0; o < outSize; o++) {
                double acc = max ? Double.NEGATIVE_INFINITY : 0;
                int count = 0;
                for (int t = 0; t < taps; t++) {
                    int flat = 0;
                    boolean inside = true;
                    for (int a = 0, orest = o, trest = t; a < n; a++) {
                        int oStride = 1, tStride = 1;
                        for (int b = a + 1; b < n; b++) { oStride *= out[b]; tStride *= k[b]; }
                        int oi = orest / oStride, ti = trest / tStride;
                        orest %= oStride;
                        trest %= tStride;
                        int i = oi * s[a] + ti * d[a] - pad[a];
                        inside &= i >= 0 && i < in[a];
                        flat = flat * in[a] + i;
                    }
                    if (!inside) continue;
                    double v = x.get((long) ch * inSize + flat);
                    acc = max ? Math.max(acc, v) : acc + v;
                    count++;
                }
                y[ch * outSize + o] = max ? acc : acc / count;
            }
        return y;
    }

    @Test
    void threeDimensionalPoolingIsTwoSeparable2dPools() {
        Tensor x = rand(1, 2, 4, 5, 3);
        byte[] m = Models.opset(13).input("x", 1, 2, 4, 5, 3).node("MaxPool", new String[] {"x"}, new String[] {"y"},
                "kernel_shape", l(2, 3, 2), "strides", l(2, 1, 1), "dilations", l(1, 2, 1), "pads", l(1, 1, 0, 1, 1, 0))
                .output("y").bytes();
        Tensor y = run(m, Map.of("x", x));
        int[] in = {4, 5, 3}, k = {2, 3, 2}, s = {2, 1, 1}, d = {1, 2, 1}, pad = {1, 1, 0};
        assertEquals(Shape.of(1, 2, 3, 3, 2), y.shape());
        assertClose(bruteForcePool(x, in, k, s, d, pad, true), y, 0);
        byte[] avg = Models.opset(13).input("x", 1, 2, 4, 5, 3).node("AveragePool", new String[] {"x"},
                new String[] {"y"}, "kernel_shape", l(3, 2, 2), "pads", l(1, 1, 1, 1, 1, 1)).output("y").bytes();
        assertClose(bruteForcePool(x, in, new int[] {3, 2, 2}, new int[] {1, 1, 1}, new int[] {1, 1, 1},
                new int[] {1, 1, 1}, false), run(avg, Map.of("x", x)), 1e-5);
    }

    @Test
    void averagePoolingWithDilationsOrPadsBeyondHalfTheKernel() {
        Tensor x = rand(1, 2, 6, 5);
        int[] in = {6, 5};
        // Dilation 2, pad 1: a depthwise convolution divided by the real cells of each window.
        byte[] dilated = Models.opset(19).input("x", 1, 2, 6, 5).node("AveragePool", new String[] {"x"},
                new String[] {"y"}, "kernel_shape", l(2, 2), "dilations", l(2, 2), "pads", l(1, 1, 1, 1)).output("y").bytes();
        assertClose(bruteForcePool(x, in, new int[] {2, 2}, new int[] {1, 1}, new int[] {2, 2}, new int[] {1, 1}, false),
                run(dilated, Map.of("x", x)), 1e-5);
        // Pads 2 with kernel 3 (beyond PyTorch's kernel/2), padding not counted.
        byte[] pads = Models.opset(13).input("x", 1, 2, 6, 5).node("AveragePool", new String[] {"x"},
                new String[] {"y"}, "kernel_shape", l(3, 3), "pads", l(2, 2, 2, 2)).output("y").bytes();
        Tensor y = run(pads, Map.of("x", x));
        assertEquals(Shape.of(1, 2, 8, 7), y.shape());
        assertClose(bruteForcePool(x, in, new int[] {3, 3}, new int[] {1, 1}, new int[] {1, 1}, new int[] {2, 2}, false),
                y, 1e-5);
    }
}
