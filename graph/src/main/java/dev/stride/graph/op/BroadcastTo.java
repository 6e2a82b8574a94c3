package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/** Repeats the input along its size-1 (or missing leading) dimensions to shape {@code dims}. */
public record BroadcastTo(int[] dims) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        Shape target = Shape.of(dims);
        ShapeException.require(Broadcast.broadcastsTo(inputs.getFirst(), target),
                "input shape %s does not broadcast to %s", inputs.getFirst(), target);
        return List.of(target);
    }

    @Override public List<Value> backward(GradContext g) {
        return List.of(Binary.sumTo(g.builder(), g.gradOutput(0), g.input(0).shape()));
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 0; }
}
