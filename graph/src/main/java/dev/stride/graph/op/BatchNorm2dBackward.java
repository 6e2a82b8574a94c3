package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * Gradient of {@link BatchNorm2dTrain} through the batch statistics. Inputs x, gamma, mean, var (biased), dy;
 * outputs dx, dgamma, dbeta. With xhat = (x - mean)/sqrt(var + eps) and M = N*H*W per channel:
 * dbeta = sum dy, dgamma = sum dy*xhat, dx = gamma/sqrt(var + eps)/M * (M*dy - dbeta - xhat*dgamma).
 */
public record BatchNorm2dBackward(double eps) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 5);
        Shape x = inputs.getFirst();
        int c = BatchNorm2dTrain.checkInput(eps, x);
        BatchNorm2dTrain.checkChannelVector("gamma", inputs.get(1), c);
        BatchNorm2dTrain.checkChannelVector("mean", inputs.get(2), c);
        BatchNorm2dTrain.checkChannelVector("var", inputs.get(3), c);
        ShapeException.require(inputs.get(4).equals(x), "dy must have the shape of x %s, got %s", x, inputs.get(4));
        return List.of(x, Shape.of(c), Shape.of(c));
    }

    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }

    /** Two reductions (dy, dy*xhat) and the per-element combination. */
    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 9 * inputs.getFirst().size(); }
}
