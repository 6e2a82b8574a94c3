package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * Gradient of {@link AvgPool2d}: input dy, output dx of shape [N, C, inH, inW]. Each window spreads
 * dy / divisor over its real input cells. Linear in dy, so its own gradient is the forward average pool.
 */
public record AvgPool2dBackward(int kH, int kW, int strideH, int strideW,
                                int padTop, int padLeft, int padBottom, int padRight,
                                boolean ceilMode, boolean countIncludePad, int inH, int inW) implements Op {

    public AvgPool2d forward() {
        return new AvgPool2d(kH, kW, strideH, strideW, padTop, padLeft, padBottom, padRight, ceilMode, countIncludePad);
    }

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        Shape dy = inputs.getFirst();
        PoolGeometry.requireNchw(dy, "dy");
        ShapeException.require(inH >= 1 && inW >= 1, "input size inH = %d, inW = %d must be >= 1", inH, inW);
        int[] o = forward().outHW(inH, inW);
        ShapeException.require(dy.dim(2) == o[0] && dy.dim(3) == o[1],
                "dy spatial size %dx%d must be the pooled size %dx%d of the %dx%d input", dy.dim(2), dy.dim(3),
                o[0], o[1], inH, inW);
        return List.of(Shape.of(dy.dim(0), dy.dim(1), inH, inW));
    }

    @Override public List<Value> backward(GradContext g) {
        return List.of(g.builder().apply("avgpool", forward(), g.gradOutput(0)));
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        return inputs.getFirst().size() * (kH * kW + 1);
    }
}
