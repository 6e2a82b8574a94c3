package dev.stride.onnx;

import dev.stride.graph.Value;
import dev.stride.graph.op.Upsample2d;

import java.util.Arrays;
import java.util.Map;

/**
 * Upsample and Resize onto the IR's Upsample2d (PyTorch's interpolate: nearest as floor(dst * in / out),
 * bilinear with half-pixel or align-corners coordinates). ONNX has more sampling rules than that; rather than
 * enumerate which combinations coincide, the importer computes, for every output row and column, the source
 * index (nearest) or coordinate (linear) ONNX's rule gives and the one Upsample2d would use, and maps the node
 * only when they agree everywhere. Anything else is refused with the mode, coordinate rule and sizes.
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
            default -> throw c.unsupported("mode '%s': Upsample2d is nearest or bilinear", mode);
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

    /** Maps onto Upsample2d when it samples exactly as ONNX does on both spatial axes; refuses otherwise. */
    private static void map(NodeContext c, Value x, long[] in, long[] out, double[] scale, boolean linear, String coord,
                            String nearest) {
        if (Arrays.equals(in, out) && Arrays.stream(scale).allMatch(s -> s == 1)) {
            c.forward(0, 0);
            return;
        }
        if (in.length != 4)
            throw c.unsupported("resizing a rank-%d tensor: Upsample2d resizes the spatial axes of NCHW", in.length);
        if (in[0] != out[0] || in[1] != out[1])
            throw c.unsupported("resizing the batch or channel axis (%s -> %s)", Arrays.toString(in), Arrays.toString(out));
        if (ConstTensor.elementCount(out, c.outName(0)) > Importer.MAX_ELEMENTS)
            throw c.invalid("output %s has more elements than a tensor can hold", Arrays.toString(out));
        int ih = (int) in[2], iw = (int) in[3], oh = (int) out[2], ow = (int) out[3];
        if (!linear) {
            if (nearestAgrees(c, ih, oh, scale[2], coord, nearest) && nearestAgrees(c, iw, ow, scale[3], coord, nearest)) {
                c.output(0, c.apply(null, new Upsample2d(Upsample2d.Mode.NEAREST, oh, ow, false), x));
                return;
            }
        } else {
            for (boolean alignCorners : new boolean[] {false, true}) {
                if (linearAgrees(ih, oh, scale[2], coord, alignCorners) && linearAgrees(iw, ow, scale[3], coord, alignCorners)) {
                    c.output(0, c.apply(null, new Upsample2d(Upsample2d.Mode.BILINEAR, oh, ow, alignCorners), x));
                    return;
                }
            }
        }
        throw c.unsupported("mode %s with coordinate_transformation_mode '%s'%s, %dx%d -> %dx%d (scales %s, %s): "
                + "Upsample2d samples differently (nearest: floor(dst * in / out); linear: half-pixel or align-corners)",
                linear ? "linear" : "nearest", coord, linear ? "" : " and nearest_mode '" + nearest + "'", ih, iw, oh, ow,
                scale[2], scale[3]);
    }

    /** ONNX's source coordinate of output index {@code dst} (before clamping), as its reference computes it. */
    static double onnxCoordinate(String coord, int dst, int in, int outInt, double scale) {
        double outW = scale * in;
        return switch (coord) {
            case "align_corners" -> outW == 1 ? 0 : dst * (in - 1) / (outW - 1);
            case "asymmetric" -> dst / scale;
            case "pytorch_half_pixel" -> outW == 1 ? -0.5 : (dst + 0.5) / scale - 0.5;
            case "half_pixel" -> (dst + 0.5) / scale - 0.5;
            case "half_pixel_symmetric" -> {
                double adjustment = outInt / outW, center = in / 2.0, offset = center * (1 - adjustment);
                yield offset + (dst + 0.5) / scale - 0.5;
            }
            case "tf_half_pixel_for_nn" -> (dst + 0.5) / scale;
            default -> Double.NaN;
        };
    }

    private static boolean nearestAgrees(NodeContext c, int in, int out, double scale, String coord, String mode) {
        for (int dst = 0; dst < out; dst++) {
            int want;
            if (mode.equals("simple")) {   // Upsample / Resize-10: asymmetric, rounding down when enlarging
                if (scale < 1) return false;   // runtimes disagree on how a shrinking Upsample rounds
                want = (int) Math.min(Math.floor(dst / scale), in - 1);
            } else {
                double xo = onnxCoordinate(coord, dst, in, out, scale);
                if (Double.isNaN(xo)) throw c.unsupported("coordinate_transformation_mode '%s'", coord);
                double fl = Math.floor(xo), ratio = xo - fl;
                boolean up = switch (mode) {
                    case "round_prefer_floor" -> ratio > 0.5;
                    case "round_prefer_ceil" -> ratio >= 0.5;
                    case "floor" -> false;
                    case "ceil" -> ratio > 0;
                    default -> throw c.invalid("nearest_mode '%s'", mode);
                };
                want = (int) Math.clamp(fl + (ratio > 0 && up ? 1 : 0), 0, in - 1);
            }
            if (want != Upsample2d.nearestSource(dst, in, out)) return false;
        }
        return true;
    }

    private static boolean linearAgrees(int in, int out, double scale, String coord, boolean alignCorners) {
        if (coord.equals("simple")) coord = "asymmetric";
        for (int dst = 0; dst < out; dst++) {
            double want = Math.clamp(onnxCoordinate(coord, dst, in, out, scale), 0, in - 1);
            double got = Math.clamp(Upsample2d.linearSource(dst, in, out, alignCorners), 0, in - 1);
            if (Double.isNaN(want) || Math.abs(want - got) > 1e-6 * Math.max(1, in)) return false;
        }
        return true;
    }
}
