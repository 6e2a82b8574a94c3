package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/** A source: a tensor of shape {@code dims} with every element {@code value}. Seeds autodiff with dL/dL = 1. */
public record Fill(int[] dims, double value) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 0);
        for (int d : dims) ShapeException.require(d >= 0, "dimension %d must be >= 0", d);
        return List.of(Shape.of(dims));
    }

    @Override public List<Value> backward(GradContext g) { return List.of(); }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 0; }
}
