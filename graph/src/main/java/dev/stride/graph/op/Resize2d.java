package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * ONNX Resize (and Upsample) of the spatial dimensions of NCHW to {@code outH x outW}, nearest or linear, up or
 * down. Each output index is mapped to a real source coordinate by {@link #sourceCoordinate}, which uses the
 * scale (ONNX's given scale, or output size / input size when sizes were given: the two differ when
 * {@code floor(in * scale)} is not exactly {@code in * scale}). Linear blends the cells floor(x) and floor(x)+1,
 * nearest rounds x by {@code nearest}; indices outside the input are clamped to its edge, as ONNX's reference
 * pads by repeating the edge. {@link Upsample2d} keeps PyTorch's {@code interpolate} conventions.
 */
public record Resize2d(Mode mode, Coord coord, Nearest nearest, int outH, int outW, double scaleH, double scaleW)
        implements Op {
    public enum Mode { NEAREST, LINEAR }

    /** ONNX coordinate_transformation_mode (all but tf_crop_and_resize, which needs a region of interest). */
    public enum Coord { HALF_PIXEL, HALF_PIXEL_SYMMETRIC, PYTORCH_HALF_PIXEL, ALIGN_CORNERS, ASYMMETRIC,
        TF_HALF_PIXEL_FOR_NEAREST }

    /** ONNX nearest_mode: how NEAREST rounds a source coordinate (LINEAR ignores it). */
    public enum Nearest { ROUND_PREFER_FLOOR, ROUND_PREFER_CEIL, FLOOR, CEIL }

    /**
     * The source coordinate of output index {@code dst} along an axis of {@code in} cells resized to {@code out}
     * with {@code scale}, as ONNX's reference computes it: ALIGN_CORNERS divides by the real resized length
     * {@code in * scale} (so scale 0.6 on 4 cells maps output 1 to 3/1.4, not 3/1), and PYTORCH_HALF_PIXEL maps
     * everything to 0 unless that length exceeds 1 (the reference's -0.5 at length exactly 1 reads the same
     * cell; testing {@code > 1} also holds when a size-derived scale misses 1 by a rounding).
     */
    public static double sourceCoordinate(Coord coord, int dst, int in, int out, double scale) {
        double length = scale * in;
        return switch (coord) {
            case HALF_PIXEL -> (dst + 0.5) / scale - 0.5;
            case HALF_PIXEL_SYMMETRIC -> {
                double offset = in / 2.0 * (1 - out / length);   // centres the whole output on the input
                yield offset + (dst + 0.5) / scale - 0.5;
            }
            case PYTORCH_HALF_PIXEL -> length > 1 ? (dst + 0.5) / scale - 0.5 : 0;
            case ALIGN_CORNERS -> length == 1 ? 0 : dst * (in - 1) / (length - 1);
            case ASYMMETRIC -> dst / scale;
            case TF_HALF_PIXEL_FOR_NEAREST -> (dst + 0.5) / scale;
        };
    }

    /** NEAREST: the input index for source coordinate {@code x}, rounded by {@code mode}, clamped to [0, in). */
    public static int nearestIndex(Nearest mode, double x, int in) {
        double f = Math.floor(x), frac = x - f;
        double r = switch (mode) {
            case ROUND_PREFER_FLOOR -> frac <= 0.5 ? f : f + 1;
            case ROUND_PREFER_CEIL -> frac < 0.5 ? f : f + 1;
            case FLOOR -> f;
            case CEIL -> Math.ceil(x);
        };
        return (int) Math.max(0, Math.min(in - 1, r));
    }

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        Shape x = inputs.getFirst();
        PoolGeometry.requireNchw(x, "input");
        check(mode, coord, nearest, x.dim(2), x.dim(3), outH, outW, scaleH, scaleW);
        return List.of(Shape.of(x.dim(0), x.dim(1), outH, outW));
    }

    /** The attributes, and output sizes within 1 of input size times scale (floor for scales, exact for sizes). */
    static void check(Mode mode, Coord coord, Nearest nearest, int inH, int inW, int outH, int outW,
                      double scaleH, double scaleW) {
        ShapeException.require(mode != null && coord != null && nearest != null, "mode, coord and nearest must be set");
        ShapeException.require(inH >= 1 && inW >= 1, "input height %d and width %d must be >= 1", inH, inW);
        ShapeException.require(outH >= 1 && outW >= 1, "output size outH = %d, outW = %d must be >= 1", outH, outW);
        ShapeException.require(scaleH > 0 && Double.isFinite(scaleH) && scaleW > 0 && Double.isFinite(scaleW),
                "scales scaleH = %s, scaleW = %s must be finite and > 0", scaleH, scaleW);
        ShapeException.require(Math.abs(outH - inH * scaleH) < 1 && Math.abs(outW - inW * scaleW) < 1,
                "output size must be within 1 of input size * scale (ONNX: floor(in * scale), or scale = out / in), "
                        + "got outH = %d for H * scaleH = %d * %s, outW = %d for W * scaleW = %d * %s",
                outH, inH, scaleH, outW, inW, scaleW);
    }

    @Override public List<Value> backward(GradContext g) {
        Shape x = g.input(0).shape();
        return List.of(g.builder().apply("resize_grad",
                new Resize2dBackward(mode, coord, nearest, x.dim(2), x.dim(3), scaleH, scaleW), g.gradOutput(0)));
    }

    /** Nearest copies; linear does 4 multiplies and 3 adds per output (the weights are precomputed). */
    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        return mode == Mode.NEAREST ? 0 : 7 * outputs.getFirst().size();
    }
}
