package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;

import java.util.List;

/** Gradient of {@link L1Loss} with respect to a: inputs a, b, dy (scalar); da = sign(a - b)/n*dy, 0 where a == b. */
public record L1LossBackward() implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 3);
        LossShapes.sameNonEmpty("a", inputs.get(0), "b", inputs.get(1));
        LossShapes.scalarGrad(inputs.get(2));
        return List.of(inputs.getFirst());
    }

    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 3 * inputs.getFirst().size(); }
}
