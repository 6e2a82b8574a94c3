package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * A source of independent N(0, 1) samples of shape {@code dims}: element i is
 * {@code CounterRng.gaussian(CounterRng.key(seed, step), i)}, fresh on every run step and reproducible for a step.
 */
public record GaussianNoise(int[] dims, long seed) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 0);
        for (int d : dims) ShapeException.require(d >= 0, "dimension %d must be >= 0", d);
        return List.of(Shape.of(dims));
    }

    @Override public List<Value> backward(GradContext g) { return List.of(); }
}
