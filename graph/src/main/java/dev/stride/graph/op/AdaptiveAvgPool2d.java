package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * Average pooling to a fixed {@code outH x outW}, with PyTorch's bins: output row i averages input rows
 * {@code [floor(i*H/outH), ceil((i+1)*H/outH))}; bins overlap when H is not a multiple of outH.
 * Global average pooling is {@code (1, 1)}.
 */
public record AdaptiveAvgPool2d(int outH, int outW) implements Op {

    /** First input index of bin {@code i} of {@code out} bins over {@code in}. */
    public static int binStart(int i, int in, int out) { return (int) Math.floorDiv((long) i * in, out); }

    /** One past the last input index of bin {@code i}. */
    public static int binEnd(int i, int in, int out) { return (int) Math.ceilDiv((long) (i + 1) * in, out); }

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        Shape x = inputs.getFirst();
        PoolGeometry.requireNchw(x, "input");
        ShapeException.require(outH >= 1 && outW >= 1, "output size outH = %d, outW = %d must be >= 1", outH, outW);
        ShapeException.require(x.dim(2) >= 1 && x.dim(3) >= 1, "input height %d and width %d must be >= 1",
                x.dim(2), x.dim(3));
        return List.of(Shape.of(x.dim(0), x.dim(1), outH, outW));
    }

    @Override public List<Value> backward(GradContext g) {
        Shape x = g.input(0).shape();
        return List.of(g.builder().apply("adaptive_avgpool_grad", new AdaptiveAvgPool2dBackward(x.dim(2), x.dim(3)),
                g.gradOutput(0)));
    }

    /** Every output reads about (H/outH + 1) x (W/outW + 1) cells, plus a divide; count the upper bound. */
    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        Shape x = inputs.getFirst();
        long bh = Math.ceilDiv(x.dim(2), outH) + 1, bw = Math.ceilDiv(x.dim(3), outW) + 1;
        return outputs.getFirst().size() * (bh * bw + 1);
    }
}
