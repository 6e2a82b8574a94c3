package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;

import java.util.List;

/** Gradient of {@link LogSoftmax}: inputs y, dy; dx = dy - exp(y) * sum(dy), the sum along {@code axis}. */
public record LogSoftmaxBackward(int axis) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) { return SoftmaxBackward.checkYDy(axis, inputs); }

    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 4 * outputs.getFirst().size(); }
}
