package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * The factor of gradient clipping by global norm, PyTorch's clip_grad_norm_ convention: for any number of
 * gradients of any shapes, norm = sqrt(sum of every element squared) and the scalar output is
 * min(1, maxNorm/(norm + 1e-6)). Multiplying every gradient by it bounds their joint norm by maxNorm. A step of
 * the optimizer, not of the model: it takes no gradient.
 */
public record GlobalNormScale(double maxNorm) implements Op {
    /** Added to the norm before dividing, as PyTorch does, so that all-zero gradients give a factor of 1. */
    public static final double EPS = 1e-6;

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        ShapeException.require(!inputs.isEmpty(), "expects at least 1 gradient, got 0");
        ShapeException.require(maxNorm > 0 && Double.isFinite(maxNorm), "maxNorm must be finite and > 0, got %s", maxNorm);
        return List.of(Shape.SCALAR);
    }

    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        long n = 0;
        for (Shape s : inputs) n += 2 * s.size();
        return n;
    }
}
