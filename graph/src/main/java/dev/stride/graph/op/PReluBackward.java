package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * Gradients of {@link PRelu}: inputs x, slope, dy; outputs dx = dy where x > 0, slope * dy elsewhere, and
 * dslope = the sum of x * dy over the elements with x <= 0 (per channel for a per-channel slope).
 */
public record PReluBackward() implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 3);
        Shape x = inputs.get(0), slope = inputs.get(1), dy = inputs.get(2);
        PRelu.checkSlope(x, slope);
        ShapeException.require(dy.equals(x), "dy %s must have the shape of x %s", dy, x);
        return List.of(x, slope);
    }

    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 3 * inputs.getFirst().size(); }
}
