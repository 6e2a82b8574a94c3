package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * Gradient of {@link InstanceNorm2d}. Inputs x, scale, dy; outputs dx, dscale, dbias. With
 * xhat = (x - mean)/sqrt(var + eps) per (n, c) plane of M = H*W cells: dbias = sum dy, dscale = sum dy*xhat (both
 * over N and the plane), and per plane dx = scale/sqrt(var + eps)/M * (M*dy - sum dy - xhat * sum dy*xhat).
 */
public record InstanceNorm2dBackward(double eps) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 3);
        Shape x = inputs.getFirst();
        int c = InstanceNorm2d.checkInput(eps, x);
        BatchNorm2dTrain.checkChannelVector("scale", inputs.get(1), c);
        ShapeException.require(inputs.get(2).equals(x), "dy must have the shape of x %s, got %s", x, inputs.get(2));
        return List.of(x, Shape.of(c), Shape.of(c));
    }

    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }

    /** The statistics again, two reductions (dy, dy*xhat) and the per-element combination. */
    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 12 * inputs.getFirst().size(); }
}
