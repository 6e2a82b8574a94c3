package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/** Gradient of {@link Softmax}: inputs y, dy; dx = y * (dy - sum(dy * y)), the sum along {@code axis}. */
public record SoftmaxBackward(int axis) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) { return checkYDy(axis, inputs); }

    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 4 * outputs.getFirst().size(); }

    /** Two inputs y and dy of one shape with a valid axis; the output has that shape. */
    static List<Shape> checkYDy(int axis, List<Shape> inputs) {
        Op.requireArity(inputs, 2);
        Shape y = inputs.get(0);
        Softmax.normalizeAxis(axis, y);
        ShapeException.require(inputs.get(1).equals(y), "dy %s must have the shape of y %s", inputs.get(1), y);
        return List.of(y);
    }
}
