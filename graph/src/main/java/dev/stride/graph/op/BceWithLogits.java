package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/**
 * Binary cross-entropy on logits, mean over every element: inputs logits x and targets t (same shape),
 * loss = mean(max(x, 0) - x*t + log1p(exp(-|x|))), the form that never overflows. Gradients
 * (sigmoid(x) - t)/n*dy for the logits and -x/n*dy for the targets.
 */
public record BceWithLogits() implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 2);
        LossShapes.sameNonEmpty("logits", inputs.get(0), "targets", inputs.get(1));
        return List.of(Shape.SCALAR);
    }

    @Override public List<Value> backward(GradContext g) {
        List<Value> d = g.builder().applyAll("bce_with_logits_grad", new BceWithLogitsBackward(),
                g.input(0), g.input(1), g.gradOutput(0));
        return Arrays.asList(g.needsGrad(0) ? d.get(0) : null, g.needsGrad(1) ? d.get(1) : null);
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 6 * inputs.getFirst().size(); }
}
