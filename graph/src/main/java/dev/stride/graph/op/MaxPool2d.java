package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;

import java.util.List;

/**
 * 2-D max pooling over NCHW, PyTorch semantics: padded cells never win (they count as -inf), dilation spreads
 * the taps, ceil mode adds a last partial window when it starts inside the input or the leading padding.
 * Pads may differ per side (ONNX style), each at most kernel/2.
 */
public record MaxPool2d(int kH, int kW, int strideH, int strideW,
                        int padTop, int padLeft, int padBottom, int padRight,
                        int dilationH, int dilationW, boolean ceilMode) implements Op {

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        return List.of(outputShape(inputs.getFirst()));
    }

    /** Validates the attributes against input {@code x} and returns the pooled shape. */
    Shape outputShape(Shape x) {
        PoolGeometry.requireNchw(x, "input");
        PoolGeometry.checkAxis("H", kH, strideH, padTop, padBottom, dilationH);
        PoolGeometry.checkAxis("W", kW, strideW, padLeft, padRight, dilationW);
        int oh = PoolGeometry.outSize("H", x.dim(2), kH, strideH, padTop, padBottom, dilationH, ceilMode);
        int ow = PoolGeometry.outSize("W", x.dim(3), kW, strideW, padLeft, padRight, dilationW, ceilMode);
        PoolGeometry.requireWindowsTouchInput("H", x.dim(2), oh, kH, strideH, padTop, dilationH);
        PoolGeometry.requireWindowsTouchInput("W", x.dim(3), ow, kW, strideW, padLeft, dilationW);
        return Shape.of(x.dim(0), x.dim(1), oh, ow);
    }

    @Override public List<Value> backward(GradContext g) {
        return List.of(g.builder().apply("maxpool_grad", new MaxPool2dBackward(kH, kW, strideH, strideW,
                padTop, padLeft, padBottom, padRight, dilationH, dilationW, ceilMode), g.input(0), g.gradOutput(0)));
    }

    /** One comparison per window tap. */
    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        return outputs.getFirst().size() * kH * kW;
    }
}
