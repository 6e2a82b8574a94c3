package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * 2-D Lp pooling over NCHW (ONNX LpPool): y = (sum over the window's taps of |x|^p)^(1/p). Padded cells count
 * as 0, so unlike max and average pooling any padding is allowed (a window wholly in padding gives 0). Output
 * size and ceil mode as {@link MaxPool2d}. ONNX's p is an integer (default 2); any real p >= 1 works here.
 */
public record LpPool2d(double p, int kH, int kW, int strideH, int strideW,
                       int padTop, int padLeft, int padBottom, int padRight,
                       int dilationH, int dilationW, boolean ceilMode) implements Op {

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        return List.of(outputShape(inputs.getFirst()));
    }

    /** Validates the attributes against input {@code x} and returns the pooled shape. */
    Shape outputShape(Shape x) {
        PoolGeometry.requireNchw(x, "input");
        ShapeException.require(p >= 1 && Double.isFinite(p), "p = %s must be finite and >= 1", p);
        PoolGeometry.checkWindow("H", kH, strideH, padTop, padBottom, dilationH);
        PoolGeometry.checkWindow("W", kW, strideW, padLeft, padRight, dilationW);
        int oh = PoolGeometry.outSize("H", x.dim(2), kH, strideH, padTop, padBottom, dilationH, ceilMode);
        int ow = PoolGeometry.outSize("W", x.dim(3), kW, strideW, padLeft, padRight, dilationW, ceilMode);
        return Shape.of(x.dim(0), x.dim(1), oh, ow);
    }

    @Override public List<Value> backward(GradContext g) {
        return List.of(g.builder().apply("lppool_grad", new LpPool2dBackward(p, kH, kW, strideH, strideW,
                padTop, padLeft, padBottom, padRight, dilationH, dilationW, ceilMode),
                g.input(0), g.output(0), g.gradOutput(0)));
    }

    /** A power and an add per window tap, one root per window. */
    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        return outputs.getFirst().size() * (2L * kH * kW + 1);
    }
}
