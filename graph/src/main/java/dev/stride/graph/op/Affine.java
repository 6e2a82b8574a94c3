package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;

import java.util.List;

/** y = scale * x + shift, elementwise, with constant scale and shift (negation, loss scaling, running averages). */
public record Affine(double scale, double shift) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        return List.of(inputs.getFirst());
    }

    @Override public List<Value> backward(GradContext g) {
        return List.of(g.builder().apply("scale", new Affine(scale, 0), g.gradOutput(0)));
    }
}
