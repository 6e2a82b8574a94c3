package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;

import java.util.List;

/** Gradient of {@link SoftmaxCrossEntropy}: inputs logits, labels, dy (scalar); dlogits = (softmax - onehot)/N*dy. */
public record SoftmaxCrossEntropyBackward() implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 3);
        SoftmaxCrossEntropy.check(inputs.get(0), inputs.get(1));
        LossShapes.scalarGrad(inputs.get(2));
        return List.of(inputs.getFirst());
    }

    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 5 * inputs.getFirst().size(); }
}
