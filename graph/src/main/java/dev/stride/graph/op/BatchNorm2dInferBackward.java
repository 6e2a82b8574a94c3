package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * Gradient of {@link BatchNorm2dInfer}. Inputs x, gamma, runningMean, runningVar, dy; outputs
 * dx = dy*gamma/sqrt(runningVar + eps), dgamma = sum dy*(x - runningMean)/sqrt(runningVar + eps), dbeta = sum dy.
 */
public record BatchNorm2dInferBackward(double eps) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 5);
        Shape x = inputs.getFirst();
        int c = BatchNorm2dTrain.checkInput(eps, x);
        BatchNorm2dTrain.checkChannelVector("gamma", inputs.get(1), c);
        BatchNorm2dTrain.checkChannelVector("runningMean", inputs.get(2), c);
        BatchNorm2dTrain.checkChannelVector("runningVar", inputs.get(3), c);
        ShapeException.require(inputs.get(4).equals(x), "dy must have the shape of x %s, got %s", x, inputs.get(4));
        return List.of(x, Shape.of(c), Shape.of(c));
    }

    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 5 * inputs.getFirst().size(); }
}
