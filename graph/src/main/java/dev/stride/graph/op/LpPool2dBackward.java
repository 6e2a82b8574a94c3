package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * Gradient of {@link LpPool2d}: inputs x, y, dy; each window sends dy * sign(x) |x|^(p-1) / y^(p-1) to each of
 * its taps, and nothing where y = 0 (there the norm is not differentiable; 0 is PyTorch's choice for norms).
 */
public record LpPool2dBackward(double p, int kH, int kW, int strideH, int strideW,
                               int padTop, int padLeft, int padBottom, int padRight,
                               int dilationH, int dilationW, boolean ceilMode) implements Op {

    public LpPool2d forward() {
        return new LpPool2d(p, kH, kW, strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW,
                ceilMode);
    }

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 3);
        Shape x = inputs.get(0), y = forward().outputShape(x);
        ShapeException.require(inputs.get(1).equals(y) && inputs.get(2).equals(y),
                "y and dy must have the pooled shape %s, got %s and %s", y, inputs.get(1), inputs.get(2));
        return List.of(x);
    }

    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        return inputs.get(2).size() * (3L * kH * kW + 2);
    }
}
