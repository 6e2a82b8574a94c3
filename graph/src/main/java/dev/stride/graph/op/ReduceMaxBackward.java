package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * Gradient of {@link ReduceMax}: inputs x and dy (the reduced shape); dx holds each dy at the first maximal
 * element (a NaN counts as maximal) of its reduced slice, 0 elsewhere.
 */
public record ReduceMaxBackward(int[] axes, boolean keepDims) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 2);
        Shape x = inputs.get(0), reduced = ReduceSum.outputShape(x, axes, keepDims);
        ShapeException.require(inputs.get(1).equals(reduced), "dy must have the reduced shape %s, got %s",
                reduced, inputs.get(1));
        return List.of(x);
    }

    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return inputs.getFirst().size(); }
}
