package dev.stride.engine.reference;

import dev.stride.engine.Session;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.PoolSpec;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.Pad;
import dev.stride.graph.op.Resize2d;
import dev.stride.graph.op.Unary;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The ops added for ONNX import against the expected outputs of ONNX's own node tests (the conformance data kept
 * beside the repository in {@code shared/conformance/onnx-node}, or where {@code -Dstride.onnx.conformance} points;
 * skipped when neither exists). Each case maps the ONNX node's attributes onto the op by hand, runs in double from
 * the float inputs, and must agree to 1e-5 relative, 1e-6 absolute: the float32 rounding of ONNX's reference.
 */
class OnnxConformanceTest {
    private static Path root;

    @BeforeAll
    static void locate() {
        String property = System.getProperty("stride.onnx.conformance");
        if (property != null) root = Path.of(property);
        for (Path p = Path.of("").toAbsolutePath(); root == null && p != null; p = p.getParent()) {
            Path candidate = p.resolve("shared/conformance/onnx-node");
            if (Files.isDirectory(candidate)) root = candidate;
        }
        Assumptions.assumeTrue(root != null && Files.isDirectory(root),
                "ONNX conformance data not found (shared/conformance/onnx-node or -Dstride.onnx.conformance)");
    }

    // ---- a TensorProto reader: dims (field 1), data_type (2), raw_data (9), little-endian ----

    /** A tensor of an ONNX test: its shape and its elements widened to double. */
    record Proto(Shape shape, double[] values) {
        Tensor tensor() { return Tensor.of(shape, values.clone()); }

        long[] longs() {
            long[] l = new long[values.length];
            for (int i = 0; i < l.length; i++) l[i] = (long) values[i];
            return l;
        }
    }

    static Proto read(String test, String name) {
        byte[] b;
        try {
            b = Files.readAllBytes(root.resolve(test).resolve("test_data_set_0").resolve(name + ".pb"));
        } catch (IOException e) {
            throw new AssertionError("cannot read " + test + "/" + name, e);
        }
        List<Integer> dims = new ArrayList<>();
        int type = 0;
        byte[] raw = null;
        int[] at = {0};
        while (at[0] < b.length) {
            long key = varint(b, at);
            int field = (int) (key >>> 3), wire = (int) (key & 7);
            switch (wire) {
                case 0 -> {
                    long v = varint(b, at);
                    if (field == 1) dims.add((int) v);
                    if (field == 2) type = (int) v;
                }
                case 2 -> {
                    int n = (int) varint(b, at), end = at[0] + n;
                    if (field == 1) while (at[0] < end) dims.add((int) varint(b, at));   // packed dims
                    if (field == 9) raw = java.util.Arrays.copyOfRange(b, at[0], end);
                    at[0] = end;
                }
                case 1 -> at[0] += 8;
                case 5 -> at[0] += 4;
                default -> fail("unexpected wire type " + wire + " in " + test + "/" + name);
            }
        }
        if (raw == null) fail(test + "/" + name + " has no raw_data");
        ByteBuffer buf = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        int width = switch (type) { case 1, 6 -> 4; case 7, 11 -> 8; default -> throw new AssertionError("data type " + type); };
        double[] v = new double[raw.length / width];
        for (int i = 0; i < v.length; i++)
            v[i] = switch (type) { case 1 -> buf.getFloat(); case 6 -> buf.getInt(); case 7 -> buf.getLong(); default -> buf.getDouble(); };
        return new Proto(Shape.of(dims.stream().mapToInt(Integer::intValue).toArray()), v);
    }

    private static long varint(byte[] b, int[] at) {
        long r = 0;
        for (int shift = 0; ; shift += 7) {
            byte c = b[at[0]++];
            r |= (long) (c & 0x7F) << shift;
            if (c >= 0) return r;
        }
    }

    // ---- running a case ----

    /** Runs {@code f} on the test's input_0 in double and compares with its output_0. */
    private static void check(String test, BiFunction<GraphBuilder, Value, Value> f) {
        check(test, 1, (b, xs) -> f.apply(b, xs.getFirst()));
    }

    /** Runs {@code f} on the test's first {@code inputs} inputs in double and compares with its output_0. */
    private static void check(String test, int inputs, BiFunction<GraphBuilder, List<Value>, Value> f) {
        Proto expected = read(test, "output_0");
        var b = new GraphBuilder(DType.F64, false);
        List<Value> xs = new ArrayList<>();
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        for (int i = 0; i < inputs; i++) {
            Proto x = read(test, "input_" + i);
            xs.add(b.input("x" + i, x.shape()));
            feeds.put("x" + i, x.tensor());
        }
        b.output("y", f.apply(b, xs));
        Tensor y;
        try (Session s = Session.open(Compiler.compile(b.build()))) {
            y = s.run(feeds).get("y");
        }
        assertEquals(expected.shape(), y.shape(), test);
        for (int i = 0; i < expected.values().length; i++) {
            double e = expected.values()[i], a = y.get(i);
            if (Math.abs(a - e) > 1e-6 + 1e-5 * Math.abs(e))
                fail(test + ": element " + i + " is " + a + ", ONNX expects " + e);
        }
    }

    private static double scalar(String test, String input) { return read(test, input).values()[0]; }

    // ---- cases ----

    @Test
    void transpose() {
        int[][] perms = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
        for (int i = 0; i < perms.length; i++) {
            int[] p = perms[i];
            check("test_transpose_all_permutations_" + i, (b, x) -> b.transpose(x, p));
        }
        check("test_transpose_default", (b, x) -> b.transpose(x));
    }

    @Test
    void instanceNormalization() {
        check("test_instancenorm_example", 3, (b, v) -> b.instanceNorm2d(v.get(0), v.get(1), v.get(2), 1e-5));
        check("test_instancenorm_epsilon", 3, (b, v) -> b.instanceNorm2d(v.get(0), v.get(1), v.get(2), 0.01));
    }

    @Test
    void lrn() {
        check("test_lrn", (b, x) -> b.lrn(x, 3, 0.0002, 0.5, 2));
        check("test_lrn_default", (b, x) -> b.lrn(x, 3, 1e-4, 0.75, 1));
    }

    @Test
    void lpPool() {
        check("test_lppool_2d_default", (b, x) -> b.lpPool2d(x, 4, PoolSpec.of(2).stride(1)));
        check("test_lppool_2d_dilations", (b, x) -> b.lpPool2d(x, PoolSpec.of(2).stride(1).dilation(2)));
        check("test_lppool_2d_pads", (b, x) -> b.lpPool2d(x, 3, PoolSpec.of(3).stride(1).pad(2)));
        check("test_lppool_2d_strides", (b, x) -> b.lpPool2d(x, 2, PoolSpec.of(5).stride(3)));
        // auto_pad SAME: total padding kernel - 1 = 1 per axis, the odd cell at the end (UPPER) or front (LOWER).
        check("test_lppool_2d_same_upper", (b, x) -> b.lpPool2d(x, 2, PoolSpec.of(2).stride(1).pad(0, 0, 1, 1)));
        check("test_lppool_2d_same_lower", (b, x) -> b.lpPool2d(x, 4, PoolSpec.of(2).stride(1).pad(1, 1, 0, 0)));
    }

    @Test
    void seluAndHardSigmoid() {
        check("test_selu", (b, x) -> b.selu(x, 2, 3));
        check("test_selu_example", (b, x) -> b.selu(x, 2, 3));
        check("test_selu_default", (b, x) -> b.selu(x));
        check("test_hardsigmoid", (b, x) -> b.hardSigmoid(x, 0.5, 0.6));
        check("test_hardsigmoid_example", (b, x) -> b.hardSigmoid(x, 0.5, 0.6));
        check("test_hardsigmoid_default", (b, x) -> b.hardSigmoid(x, 0.2, 0.5));
        assertEquals(1.67326319217681884765625, (float) Unary.SELU_ALPHA, 0);   // ONNX's default is our constant's float
    }

    @Test
    void clip() {
        for (String t : List.of("test_clip", "test_clip_example", "test_clip_inbounds", "test_clip_outbounds",
                "test_clip_splitbounds", "test_clip_min_greater_than_max")) {
            double lo = scalar(t, "input_1"), hi = scalar(t, "input_2");
            check(t, (b, x) -> b.clip(x, lo, hi));
        }
        double min = scalar("test_clip_default_min", "input_1"), max = scalar("test_clip_default_max", "input_1");
        check("test_clip_default_min", (b, x) -> b.clip(x, min, Double.POSITIVE_INFINITY));
        check("test_clip_default_max", (b, x) -> b.clip(x, Double.NEGATIVE_INFINITY, max));
        check("test_clip_default_inbounds", (b, x) -> b.clip(x, Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY));
    }

    @Test
    void pow() {
        for (String t : List.of("test_pow", "test_pow_example", "test_pow_bcast_array", "test_pow_bcast_scalar"))
            check(t, 2, (b, v) -> b.pow(v.get(0), v.get(1)));
    }

    @Test
    void pad() {
        long[] pads = read("test_reflect_pad", "input_1").longs();
        int[] before = new int[4], after = new int[4];
        for (int i = 0; i < 4; i++) {   // ONNX: all the begins, then all the ends
            before[i] = (int) pads[i];
            after[i] = (int) pads[4 + i];
        }
        check("test_reflect_pad", (b, x) -> b.pad(x, before, after, Pad.Mode.REFLECT));
        check("test_edge_pad", (b, x) -> b.pad(x, before, after, Pad.Mode.EDGE));
        check("test_wrap_pad", (b, x) -> b.pad(x, before, after, Pad.Mode.WRAP));
        long[] cp = read("test_constant_pad", "input_1").longs();
        double value = scalar("test_constant_pad", "input_2");
        check("test_constant_pad", (b, x) -> b.pad(x, new int[] {(int) cp[0], (int) cp[1], (int) cp[2], (int) cp[3]},
                new int[] {(int) cp[4], (int) cp[5], (int) cp[6], (int) cp[7]}, value));
    }

    @Test
    void gather() {
        for (var c : List.of(new Object[] {"test_gather_0", 0}, new Object[] {"test_gather_1", 1},
                new Object[] {"test_gather_2d_indices", 1}, new Object[] {"test_gather_negative_indices", 0})) {
            String t = (String) c[0];
            Proto idx = read(t, "input_1");
            check(t, (b, x) -> b.gather(x, (int) c[1], idx.longs(), idx.shape().dims()));
        }
    }

    @Test
    void resize() {
        var L = Resize2d.Mode.LINEAR;
        var N = Resize2d.Mode.NEAREST;
        var floor = Resize2d.Nearest.ROUND_PREFER_FLOOR;
        resizeByScales("test_resize_downsample_scales_linear", L, Resize2d.Coord.HALF_PIXEL, floor);
        resizeByScales("test_resize_downsample_scales_linear_align_corners", L, Resize2d.Coord.ALIGN_CORNERS, floor);
        resizeByScales("test_resize_downsample_scales_linear_half_pixel_symmetric", L, Resize2d.Coord.HALF_PIXEL_SYMMETRIC, floor);
        resizeByScales("test_resize_downsample_scales_nearest", N, Resize2d.Coord.HALF_PIXEL, floor);
        resizeByScales("test_resize_upsample_scales_linear", L, Resize2d.Coord.HALF_PIXEL, floor);
        resizeByScales("test_resize_upsample_scales_linear_align_corners", L, Resize2d.Coord.ALIGN_CORNERS, floor);
        resizeByScales("test_resize_upsample_scales_linear_half_pixel_symmetric", L, Resize2d.Coord.HALF_PIXEL_SYMMETRIC, floor);
        resizeByScales("test_resize_upsample_scales_nearest", N, Resize2d.Coord.HALF_PIXEL, floor);
        resizeByScales("test_upsample_nearest", N, Resize2d.Coord.ASYMMETRIC, Resize2d.Nearest.FLOOR);   // Upsample-9
        resizeBySizes("test_resize_downsample_sizes_linear_pytorch_half_pixel", L, Resize2d.Coord.PYTORCH_HALF_PIXEL, floor);
        resizeBySizes("test_resize_downsample_sizes_nearest", N, Resize2d.Coord.HALF_PIXEL, floor);
        resizeBySizes("test_resize_upsample_sizes_nearest", N, Resize2d.Coord.HALF_PIXEL, floor);
        resizeBySizes("test_resize_upsample_sizes_nearest_ceil_half_pixel", N, Resize2d.Coord.HALF_PIXEL, Resize2d.Nearest.CEIL);
        resizeBySizes("test_resize_upsample_sizes_nearest_floor_align_corners", N, Resize2d.Coord.ALIGN_CORNERS, Resize2d.Nearest.FLOOR);
        resizeBySizes("test_resize_upsample_sizes_nearest_round_prefer_ceil_asymmetric", N, Resize2d.Coord.ASYMMETRIC,
                Resize2d.Nearest.ROUND_PREFER_CEIL);
        // keep_aspect_ratio_policy: one scale for both axes (the smaller or larger of sizes / input), output
        // round(scale * input) (sizes given for axes [2, 3] only).
        for (String t : List.of("test_resize_downsample_sizes_nearest_not_larger", "test_resize_upsample_sizes_nearest_not_larger",
                "test_resize_downsample_sizes_nearest_not_smaller", "test_resize_upsample_sizes_nearest_not_smaller")) {
            Shape in = read(t, "input_0").shape();
            double[] sizes = read(t, "input_1").values();
            double sh = sizes[0] / in.dim(2), sw = sizes[1] / in.dim(3);
            double s = t.contains("not_larger") ? Math.min(sh, sw) : Math.max(sh, sw);
            int oh = (int) (s * in.dim(2) + 0.5), ow = (int) (s * in.dim(3) + 0.5);
            check(t, (b, x) -> b.apply("resize", new Resize2d(N, Resize2d.Coord.HALF_PIXEL, floor, oh, ow, s, s), x));
        }
    }

    private static void resizeByScales(String t, Resize2d.Mode mode, Resize2d.Coord coord, Resize2d.Nearest nearest) {
        double[] s = read(t, "input_1").values();
        assertEquals(1.0, s[0] * s[1], t + " scales only H and W");
        check(t, (b, x) -> b.resizeByScales(x, mode, coord, nearest, s[2], s[3]));
    }

    private static void resizeBySizes(String t, Resize2d.Mode mode, Resize2d.Coord coord, Resize2d.Nearest nearest) {
        double[] s = read(t, "input_1").values();
        check(t, (b, x) -> b.resize(x, mode, coord, nearest, (int) s[2], (int) s[3]));
    }
}
