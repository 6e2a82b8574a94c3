package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * Gradient of {@link AdaptiveAvgPool2d}: input dy [N, C, outH, outW], output dx [N, C, inH, inW]; every bin
 * spreads dy / (bin area) over its cells. Linear, so its own gradient is the forward pool.
 */
public record AdaptiveAvgPool2dBackward(int inH, int inW) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        Shape dy = inputs.getFirst();
        PoolGeometry.requireNchw(dy, "dy");
        ShapeException.require(inH >= 1 && inW >= 1, "input size inH = %d, inW = %d must be >= 1", inH, inW);
        ShapeException.require(dy.dim(2) >= 1 && dy.dim(3) >= 1, "dy height %d and width %d must be >= 1",
                dy.dim(2), dy.dim(3));
        return List.of(Shape.of(dy.dim(0), dy.dim(1), inH, inW));
    }

    @Override public List<Value> backward(GradContext g) {
        Shape dy = g.input(0).shape();
        return List.of(g.builder().apply("adaptive_avgpool", new AdaptiveAvgPool2d(dy.dim(2), dy.dim(3)),
                g.gradOutput(0)));
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        return new AdaptiveAvgPool2d(inputs.getFirst().dim(2), inputs.getFirst().dim(3))
                .flops(outputs, inputs);
    }
}
