package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/** Gradient of {@link Clip}: inputs x and dy, output dx = dy where min < x < max, 0 elsewhere. */
public record ClipBackward(double min, double max) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 2);
        Clip.check(min, max);
        ShapeException.require(inputs.get(1).equals(inputs.get(0)), "dy must have the shape of x %s, got %s",
                inputs.get(0), inputs.get(1));
        return List.of(inputs.get(0));
    }

    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }
}
