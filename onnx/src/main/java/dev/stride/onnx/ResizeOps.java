package dev.stride.onnx;

import dev.stride.graph.Value;
import dev.stride.graph.op.Resize2d;
import dev.stride.graph.op.Upsample2d;

import java.util.Arrays;
import java.util.Map;

/**
 * Upsample and Resize onto the IR's Resize2d, which has ONNX Resize's nearest and linear sampling with every
 * coordinate_transformation_mode but tf_crop_and_resize and every nearest_mode. Where PyTorch's conventions
 * ({@link Upsample2d}: nearest as floor(dst * in / out), bilinear with half-pixel or align-corners coordinates)
 * coincide with ONNX's, the node becomes Upsample2d instead (the cpu backend has a fast kernel for it): the
 * importer computes, for every output row and column, the source index (nearest) or coordinate (linear) of both
 * rules and takes Upsample2d only when they agree everywhere. Only the last two axes may be resized; tensors of
 * other ranks run through an NCHW view. Cubic, tf_crop_and_resize and antialiased downsampling are refused.
 */
final class ResizeOps {
    private ResizeOps() {}

    static void register(Map<String, OpSpec> t) {
        t.put("Upsample", new OpSpec(ResizeOps::upsample, (v, i) -> v >= 9 && i == 1));
        t.put("Resize", new OpSpec(ResizeOps::resize, (v, i) -> i >= 1));
    }

    /** Upsample (opset 7 to 10; deprecated in 10): scales, asymmetric coordinates, nearest rounds down. */
    private static void upsample(NodeContext c) {
        ElementwiseOps.requireFloat(c, 0);
        String mode = c.attrString("mode", "nearest");
        double[] scales;
        if (c.opset < 7) {
            scales = new double[] {1, 1, c.attrFloat("height_scale", 1), c.attrFloat("width_scale", 1)};
        } else if (c.opset < 9) {
            scales = c.attrFloats("scales", null);
            if (scales == null) throw c.invalid("attribute scales is required");
        } else {
            scales = c.reals(1);
        }
        boolean linear = switch (mode) {
            case "nearest" -> false;
            case "linear", "bilinear" -> true;
            default -> throw c.unsupported("mode '%s'", mode);
        };
        Value x = c.value(0);
        long[] in = c.dims(0);
        if (scales.length != in.length) throw c.invalid("scales %s must have one entry per input dimension (%d)",
                Arrays.toString(scales), in.length);
        long[] out = new long[in.length];
        for (int i = 0; i < in.length; i++) out[i] = outputSize(c, in[i], scales[i]);
        map(c, x, in, out, scales, linear, "asymmetric", "simple");
    }

    private static long outputSize(NodeContext c, long in, double scale) {
        if (!(scale > 0) || Double.isInfinite(scale)) throw c.invalid("scale %s must be positive and finite", scale);
        double o = Math.floor(in * scale);
        if (o < 1 || o > Importer.MAX_ELEMENTS) throw c.invalid("output size floor(%d * %s) = %s is out of range", in, scale, o);
        return (long) o;
    }

    private static void resize(NodeContext c) {
        ElementwiseOps.requireFloat(c, 0);
        String mode = c.attrString("mode", "nearest");
        long[] in = c.dims(0);
        int r = in.length;
        String coord = "asymmetric", nearest = "simple";
        double[] scales = null;
        long[] sizes = null;
        long[] axes = null;
        String policy = "stretch";
        boolean antialias = false;
        if (c.opset < 11) {
            scales = c.reals(1);
        } else {
            coord = c.attrString("coordinate_transformation_mode", "half_pixel");
            nearest = c.attrString("nearest_mode", "round_prefer_floor");
            c.attrFloat("cubic_coeff_a", -0.75);     // cubic only, refused below
            c.attrFloat("extrapolation_value", 0);   // tf_crop_and_resize only, refused below
            // exclude_outside zeroes the weight of taps outside the input; for nearest and linear those taps repeat
            // the edge value, so with either setting the result is the edge clamping Upsample2d does.
            c.attrInt("exclude_outside", 0);
            if (c.opset >= 18) {
                antialias = c.attrInt("antialias", 0) != 0;
                axes = c.attrInts("axes", null);
                policy = c.attrString("keep_aspect_ratio_policy", "stretch");
            }
            if (c.has(2) && c.constant(2).size() > 0) scales = c.reals(2);
            if (c.has(3) && c.constant(3).size() > 0) sizes = c.ints(3);
            if ((scales == null) == (sizes == null)) throw c.invalid("exactly one of scales and sizes must be given");
        }
        boolean linear = switch (mode) {
            case "nearest" -> false;
            case "linear" -> true;
            default -> throw c.unsupported("mode '%s': the IR resizes nearest or linear (no bicubic Resize2d)", mode);
        };
        if (coord.equals("tf_crop_and_resize"))
            throw c.unsupported("coordinate_transformation_mode 'tf_crop_and_resize' (a crop box, extrapolation)");
        if (axes == null) {
            axes = new long[r];
            for (int i = 0; i < r; i++) axes[i] = i;
        }
        int[] ax = new int[axes.length];
        for (int i = 0; i < ax.length; i++) ax[i] = c.axis(axes[i], r, "axis");
        long[] out = in.clone();
        double[] scale = new double[r];
        Arrays.fill(scale, 1);
        if (scales != null) {
            if (scales.length != ax.length) throw c.invalid("scales %s must have %d entries", Arrays.toString(scales), ax.length);
            for (int i = 0; i < ax.length; i++) {
                scale[ax[i]] = scales[i];
                out[ax[i]] = outputSize(c, in[ax[i]], scales[i]);
            }
        } else {
            if (sizes.length != ax.length) throw c.invalid("sizes %s must have %d entries", Arrays.toString(sizes), ax.length);
            for (int i = 0; i < ax.length; i++) {
                if (sizes[i] < 1) throw c.invalid("sizes %s must be >= 1", Arrays.toString(sizes));
                out[ax[i]] = sizes[i];
                scale[ax[i]] = (double) sizes[i] / in[ax[i]];
            }
            if (!policy.equals("stretch")) {
                double s = policy.equals("not_larger") ? Double.MAX_VALUE : 0;
                for (int a : ax) {
                    if (policy.equals("not_larger")) s = Math.min(s, scale[a]);
                    else if (policy.equals("not_smaller")) s = Math.max(s, scale[a]);
                    else throw c.invalid("keep_aspect_ratio_policy '%s'", policy);
                }
                for (int a : ax) {
                    scale[a] = s;
                    out[a] = (long) (s * in[a] + 0.5);   // ONNX rounds half up here
                }
            }
        }
        if (antialias && linear)
            for (int a = 0; a < r; a++)
                if (scale[a] < 1) throw c.unsupported("antialias = 1 when downsampling (axis %d, scale %s): a wider "
                        + "filter than bilinear", a, scale[a]);
        map(c, c.value(0), in, out, scale, linear, coord, nearest);
    }

    /**
     * Maps onto Upsample2d when it samples exactly as ONNX does on both resized axes, else onto Resize2d. Only the
     * last two axes may change; the others must keep their size and, unless of size 1, have scale 1 (a scale that
     * rounds back to the same size still moves the sampling positions).
     */
    private static void map(NodeContext c, Value x, long[] in, long[] out, double[] scale, boolean linear, String coord,
                            String nearest) {
        int r = in.length;
        if (Arrays.equals(in, out) && Arrays.stream(scale).allMatch(s -> s == 1)) {
            c.forward(0, 0);
            return;
        }
        for (int a = 0; a < r - 2; a++)
            if (in[a] != out[a] || (scale[a] != 1 && in[a] != 1))
                throw c.unsupported("resizing axis %d (%s -> %s, scales %s): Resize2d resizes the last two axes only",
                        a, Arrays.toString(in), Arrays.toString(out), Arrays.toString(scale));
        if (ConstTensor.elementCount(out, c.outName(0)) > Importer.MAX_ELEMENTS)
            throw c.invalid("output %s has more elements than a tensor can hold", Arrays.toString(out));
        // The resized axes as H and W of an NCHW view: [N, C, H, W] itself, other ranks [leading..., 1, H, W].
        int ih = r >= 2 ? (int) in[r - 2] : 1, iw = (int) in[r - 1];
        int oh = r >= 2 ? (int) out[r - 2] : 1, ow = (int) out[r - 1];
        double sh = r >= 2 ? scale[r - 2] : 1, sw = scale[r - 1];
        int[] view = r == 4 ? Lowering.ints(c, in)
                : new int[] {Lowering.product(Lowering.ints(c, in), 0, Math.max(0, r - 2)), 1, ih, iw};
        if (!linear && nearest.equals("simple") && (sh < 1 || sw < 1))
            throw c.unsupported("nearest Upsample (or Resize-10) shrinking by scales %s: runtimes disagree on how it "
                    + "rounds", Arrays.toString(scale));
        Value x4 = Lowering.reshape(c, "input_4d", x, view);
        boolean isView = r != 4;
        String step = isView ? "resize" : null;
        Value y = null;
        if (!linear) {
            if (nearestAgrees(c, ih, oh, sh, coord, nearest) && nearestAgrees(c, iw, ow, sw, coord, nearest))
                y = c.apply(step, new Upsample2d(Upsample2d.Mode.NEAREST, oh, ow, false), x4);
        } else {
            for (boolean alignCorners : new boolean[] {false, true})
                if (y == null && linearAgrees(c, ih, oh, sh, coord, alignCorners)
                        && linearAgrees(c, iw, ow, sw, coord, alignCorners))
                    y = c.apply(step, new Upsample2d(Upsample2d.Mode.BILINEAR, oh, ow, alignCorners), x4);
        }
        if (y == null) {
            // Upsample and Resize-10 (nearest mode "simple"): asymmetric coordinates, nearest rounds down.
            Resize2d.Coord cm = coordinate(c, coord);
            Resize2d.Nearest nm = nearest.equals("simple") ? Resize2d.Nearest.FLOOR : nearestMode(c, nearest);
            Resize2d.Mode mode = linear ? Resize2d.Mode.LINEAR : Resize2d.Mode.NEAREST;
            y = c.apply(step, new Resize2d(mode, cm, nm, oh, ow, sh, sw), x4);
        }
        c.output(0, isView ? Lowering.reshapeOut(c, y, Lowering.ints(c, out)) : y);
    }

    private static Resize2d.Coord coordinate(NodeContext c, String coord) {
        return switch (coord) {
            case "half_pixel" -> Resize2d.Coord.HALF_PIXEL;
            case "half_pixel_symmetric" -> Resize2d.Coord.HALF_PIXEL_SYMMETRIC;
            case "pytorch_half_pixel" -> Resize2d.Coord.PYTORCH_HALF_PIXEL;
            case "align_corners" -> Resize2d.Coord.ALIGN_CORNERS;
            case "asymmetric" -> Resize2d.Coord.ASYMMETRIC;
            case "tf_half_pixel_for_nn" -> Resize2d.Coord.TF_HALF_PIXEL_FOR_NEAREST;
            default -> throw c.invalid("coordinate_transformation_mode '%s'", coord);
        };
    }

    private static Resize2d.Nearest nearestMode(NodeContext c, String mode) {
        return switch (mode) {
            case "round_prefer_floor" -> Resize2d.Nearest.ROUND_PREFER_FLOOR;
            case "round_prefer_ceil" -> Resize2d.Nearest.ROUND_PREFER_CEIL;
            case "floor" -> Resize2d.Nearest.FLOOR;
            case "ceil" -> Resize2d.Nearest.CEIL;
            default -> throw c.invalid("nearest_mode '%s'", mode);
        };
    }

    /** Whether Upsample2d's nearest source row equals ONNX's (Resize2d's) for every output index along an axis. */
    private static boolean nearestAgrees(NodeContext c, int in, int out, double scale, String coord, String mode) {
        Resize2d.Coord cm = coordinate(c, coord);
        Resize2d.Nearest nm = mode.equals("simple") ? Resize2d.Nearest.FLOOR : nearestMode(c, mode);
        for (int dst = 0; dst < out; dst++) {
            int want = Resize2d.nearestIndex(nm, Resize2d.sourceCoordinate(cm, dst, in, out, scale), in);
            if (want != Upsample2d.nearestSource(dst, in, out)) return false;
        }
        return true;
    }

    /**
     * Whether Upsample2d's bilinear source coordinate equals ONNX's for every output index along an axis, after
     * clamping to the input (outside it both repeat the edge cell).
     */
    private static boolean linearAgrees(NodeContext c, int in, int out, double scale, String coord, boolean alignCorners) {
        Resize2d.Coord cm = coordinate(c, coord);
        for (int dst = 0; dst < out; dst++) {
            double want = Math.clamp(Resize2d.sourceCoordinate(cm, dst, in, out, scale), 0, in - 1);
            double got = Math.clamp(Upsample2d.linearSource(dst, in, out, alignCorners), 0, in - 1);
            if (Math.abs(want - got) > 1e-6 * Math.max(1, in)) return false;
        }
        return true;
    }
}
