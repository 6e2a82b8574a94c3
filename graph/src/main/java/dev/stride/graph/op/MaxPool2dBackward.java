package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * Gradient of {@link MaxPool2d}: inputs (x, dy), output dx shaped like x. Each window's gradient goes to its
 * first maximum in row-major scan order (PyTorch's tie rule); windows overlap, so contributions add.
 */
public record MaxPool2dBackward(int kH, int kW, int strideH, int strideW,
                                int padTop, int padLeft, int padBottom, int padRight,
                                int dilationH, int dilationW, boolean ceilMode) implements Op {

    public MaxPool2d forward() {
        return new MaxPool2d(kH, kW, strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW,
                ceilMode);
    }

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 2);
        Shape x = inputs.get(0), dy = inputs.get(1);
        Shape expected = forward().outputShape(x);
        ShapeException.require(dy.equals(expected), "dy must have the pooled shape %s of x %s, got %s", expected, x, dy);
        return List.of(x);
    }

    /** The argmax depends on x only piecewise: no second-order gradient. */
    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        return inputs.get(1).size() * kH * kW;
    }
}
