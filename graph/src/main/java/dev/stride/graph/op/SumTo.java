package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/** Sums the input over the dimensions along which {@code dims} would broadcast to it: the adjoint of broadcasting. */
public record SumTo(int[] dims) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        Shape target = Shape.of(dims);
        ShapeException.require(Broadcast.broadcastsTo(target, inputs.getFirst()),
                "target shape %s does not broadcast to the input shape %s", target, inputs.getFirst());
        return List.of(target);
    }

    @Override public List<Value> backward(GradContext g) {
        return List.of(g.builder().apply("broadcast", new BroadcastTo(g.input(0).shape().dims()), g.gradOutput(0)));
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return inputs.getFirst().size(); }
}
