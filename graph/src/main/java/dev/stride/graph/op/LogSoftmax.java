package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;

import java.util.List;

/** y = x - max - log(sum(exp(x - max))) along {@code axis}: log of {@link Softmax} without its underflow. */
public record LogSoftmax(int axis) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        Softmax.normalizeAxis(axis, inputs.getFirst());
        return List.of(inputs.getFirst());
    }

    @Override public List<Value> backward(GradContext g) {
        return List.of(g.builder().apply("log_softmax_grad", new LogSoftmaxBackward(axis), g.output(0), g.gradOutput(0)));
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 5 * outputs.getFirst().size(); }
}
