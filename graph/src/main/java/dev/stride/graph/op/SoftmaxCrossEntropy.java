package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/**
 * Softmax cross-entropy, mean over the batch: logits[N,C] and labels[N] (class indices stored as floats) give
 * (1/N) * sum_n (logsumexp(logits[n]) - logits[n, label_n]). Kernels check at run time that every label is an
 * integer in [0, C) and name the row and value otherwise. Labels take no gradient.
 */
public record SoftmaxCrossEntropy() implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 2);
        check(inputs.get(0), inputs.get(1));
        return List.of(Shape.SCALAR);
    }

    static void check(Shape logits, Shape labels) {
        ShapeException.require(logits.rank() == 2, "logits must be [N, C] (rank 2), got %s", logits);
        ShapeException.require(logits.dim(0) >= 1 && logits.dim(1) >= 1,
                "logits need N >= 1 rows and C >= 1 classes, got %s", logits);
        ShapeException.require(labels.equals(Shape.of(logits.dim(0))),
                "labels must have shape [N] = [%d], got %s", logits.dim(0), labels);
    }

    @Override public List<Value> backward(GradContext g) {
        if (!g.needsGrad(0)) return Op.noGradient(g);
        Value d = g.builder().apply("softmax_cross_entropy_grad", new SoftmaxCrossEntropyBackward(),
                g.input(0), g.input(1), g.gradOutput(0));
        return Arrays.asList(d, null);
    }

    /** max, exp, sum and log per element. */
    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 4 * inputs.getFirst().size(); }
}
