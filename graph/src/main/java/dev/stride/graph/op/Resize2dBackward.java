package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;

import java.util.List;

/**
 * Gradient of {@link Resize2d}: input dy [N, C, outH, outW], output dx [N, C, inH, inW]; each output cell sends
 * its gradient back to the cells it read, with the same weights. Linear in dy: its gradient is the resize.
 */
public record Resize2dBackward(Resize2d.Mode mode, Resize2d.Coord coord, Resize2d.Nearest nearest, int inH, int inW,
                               double scaleH, double scaleW) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        Shape dy = inputs.getFirst();
        PoolGeometry.requireNchw(dy, "dy");
        Resize2d.check(mode, coord, nearest, inH, inW, dy.dim(2), dy.dim(3), scaleH, scaleW);
        return List.of(Shape.of(dy.dim(0), dy.dim(1), inH, inW));
    }

    @Override public List<Value> backward(GradContext g) {
        Shape dy = g.input(0).shape();
        return List.of(g.builder().apply("resize",
                new Resize2d(mode, coord, nearest, dy.dim(2), dy.dim(3), scaleH, scaleW), g.gradOutput(0)));
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        return mode == Resize2d.Mode.NEAREST ? 0 : 8 * inputs.getFirst().size();
    }
}
