package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;

import java.util.List;

/**
 * 2-D average pooling over NCHW, PyTorch semantics. The divisor of a window: with {@code countIncludePad}, the
 * window's cells inside the padded input (a ceil-mode window running past {@code H + padBottom} is clipped
 * there); without, only its cells inside the real input.
 */
public record AvgPool2d(int kH, int kW, int strideH, int strideW,
                        int padTop, int padLeft, int padBottom, int padRight,
                        boolean ceilMode, boolean countIncludePad) implements Op {

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        Shape x = inputs.getFirst();
        PoolGeometry.requireNchw(x, "input");
        int[] o = outHW(x.dim(2), x.dim(3));
        return List.of(Shape.of(x.dim(0), x.dim(1), o[0], o[1]));
    }

    /** Validates the attributes and returns the pooled {height, width} of an {@code h x w} input. */
    int[] outHW(int h, int w) {
        PoolGeometry.checkAxis("H", kH, strideH, padTop, padBottom, 1);
        PoolGeometry.checkAxis("W", kW, strideW, padLeft, padRight, 1);
        return new int[] {
                PoolGeometry.outSize("H", h, kH, strideH, padTop, padBottom, 1, ceilMode),
                PoolGeometry.outSize("W", w, kW, strideW, padLeft, padRight, 1, ceilMode)};
    }

    @Override public List<Value> backward(GradContext g) {
        Shape x = g.input(0).shape();
        return List.of(g.builder().apply("avgpool_grad", new AvgPool2dBackward(kH, kW, strideH, strideW,
                padTop, padLeft, padBottom, padRight, ceilMode, countIncludePad, x.dim(2), x.dim(3)), g.gradOutput(0)));
    }

    /** One add per tap and a divide per output. */
    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        return outputs.getFirst().size() * (kH * kW + 1);
    }
}
