package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * Resizes the spatial dimensions of NCHW to {@code outH x outW} (up or down), PyTorch's {@code interpolate}:
 * <ul>
 *   <li>NEAREST: source index {@code floor(dst * in / out)} (PyTorch 'nearest', not 'nearest-exact');</li>
 *   <li>BILINEAR, align corners: {@code src = dst * (in-1)/(out-1)} (0 when out = 1);</li>
 *   <li>BILINEAR, half pixel: {@code src = (dst + 0.5) * in/out - 0.5}, negative results clamped to 0.</li>
 * </ul>
 * Bilinear blends rows {@code floor(src)} and {@code floor(src)+1} (the latter clamped to in-1).
 */
public record Upsample2d(Mode mode, int outH, int outW, boolean alignCorners) implements Op {
    public enum Mode { NEAREST, BILINEAR }

    /** Nearest: the source index of output index {@code dst}, exact integer arithmetic. */
    public static int nearestSource(int dst, int in, int out) {
        return (int) Math.min((long) dst * in / out, in - 1);
    }

    /** Bilinear: the real source coordinate of output index {@code dst}, PyTorch's area_pixel_compute_source_index. */
    public static double linearSource(int dst, int in, int out, boolean alignCorners) {
        if (alignCorners) return out > 1 ? (double) (in - 1) / (out - 1) * dst : 0;
        double src = (double) in / out * (dst + 0.5) - 0.5;
        return Math.max(src, 0);
    }

    static void check(Mode mode, boolean alignCorners) {
        ShapeException.require(mode != null, "mode must be NEAREST or BILINEAR");
        ShapeException.require(mode == Mode.BILINEAR || !alignCorners,
                "alignCorners applies only to BILINEAR, not %s (as in PyTorch)", mode);
    }

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        Shape x = inputs.getFirst();
        PoolGeometry.requireNchw(x, "input");
        check(mode, alignCorners);
        ShapeException.require(outH >= 1 && outW >= 1, "output size outH = %d, outW = %d must be >= 1", outH, outW);
        ShapeException.require(x.dim(2) >= 1 && x.dim(3) >= 1, "input height %d and width %d must be >= 1",
                x.dim(2), x.dim(3));
        return List.of(Shape.of(x.dim(0), x.dim(1), outH, outW));
    }

    @Override public List<Value> backward(GradContext g) {
        Shape x = g.input(0).shape();
        return List.of(g.builder().apply("upsample_grad", new Upsample2dBackward(mode, x.dim(2), x.dim(3), alignCorners),
                g.gradOutput(0)));
    }

    /** Nearest copies; bilinear does 4 multiplies and 3 adds per output (plus the weights, precomputed). */
    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        return mode == Mode.NEAREST ? 0 : 7 * outputs.getFirst().size();
    }
}
