package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/**
 * The same elements in row-major order under another shape of equal size. {@code dims} are fully resolved
 * (the builder DSL resolves -1 and 0 before the op is made), so a plan states the exact shape.
 */
public record Reshape(int[] dims) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        ShapeException.require(dims != null, "dims must be set");
        long size = 1;
        for (int d : dims) {
            ShapeException.require(d >= 0, "dimension %d in %s must be >= 0 (resolve -1 before building the op)",
                    d, Arrays.toString(dims));
            size = Math.multiplyExact(size, d);
        }
        Shape in = inputs.getFirst();
        ShapeException.require(size == in.size(), "reshape to %s holds %d elements, the input %s holds %d",
                Arrays.toString(dims), size, in, in.size());
        return List.of(Shape.of(dims));
    }

    @Override public List<Value> backward(GradContext g) {
        return List.of(g.builder().apply("reshape_grad", new Reshape(g.input(0).shape().dims()), g.gradOutput(0)));
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 0; }
}
