package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;

import java.util.List;

/** Gradient of {@link BceWithLogits}: inputs logits, targets, dy (scalar); outputs dlogits and dtargets. */
public record BceWithLogitsBackward() implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 3);
        LossShapes.sameNonEmpty("logits", inputs.get(0), "targets", inputs.get(1));
        LossShapes.scalarGrad(inputs.get(2));
        return List.of(inputs.get(0), inputs.get(0));
    }

    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 6 * inputs.getFirst().size(); }
}
