package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/** Gradient of {@link Reparameterize} with respect to logvar: inputs logvar, eps, dz; dlogvar = dz*exp(logvar/2)*eps/2. */
public record ReparameterizeBackward() implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 3);
        Shape s = inputs.getFirst();
        ShapeException.require(inputs.get(1).equals(s) && inputs.get(2).equals(s),
                "logvar, eps and dz must have the same shape, got %s, %s and %s", s, inputs.get(1), inputs.get(2));
        return List.of(s);
    }

    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 4 * inputs.getFirst().size(); }
}
