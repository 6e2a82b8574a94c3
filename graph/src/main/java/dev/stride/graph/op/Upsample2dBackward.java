package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * Gradient of {@link Upsample2d}: input dy [N, C, outH, outW], output dx [N, C, inH, inW]; each output cell
 * sends its gradient back to the source cells it read, with the same weights. Linear: its own gradient is
 * the forward resize.
 */
public record Upsample2dBackward(Upsample2d.Mode mode, int inH, int inW, boolean alignCorners) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        Shape dy = inputs.getFirst();
        PoolGeometry.requireNchw(dy, "dy");
        Upsample2d.check(mode, alignCorners);
        ShapeException.require(inH >= 1 && inW >= 1, "input size inH = %d, inW = %d must be >= 1", inH, inW);
        ShapeException.require(dy.dim(2) >= 1 && dy.dim(3) >= 1, "dy height %d and width %d must be >= 1",
                dy.dim(2), dy.dim(3));
        return List.of(Shape.of(dy.dim(0), dy.dim(1), inH, inW));
    }

    @Override public List<Value> backward(GradContext g) {
        Shape dy = g.input(0).shape();
        return List.of(g.builder().apply("upsample", new Upsample2d(mode, dy.dim(2), dy.dim(3), alignCorners),
                g.gradOutput(0)));
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        return mode == Upsample2d.Mode.NEAREST ? 0 : 8 * inputs.getFirst().size();
    }
}
