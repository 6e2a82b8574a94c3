package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/**
 * Gradient of {@link Conv2d} with respect to its weight: (x[N, C, H, W], dy[N, O, Ho, Wo]) ->
 * dw[O, C/groups, kernelH, kernelW], the correlation of the input with the output gradient summed over the batch.
 * It carries the kernel size, which the two inputs do not determine.
 */
public record Conv2dBackwardFilter(int strideH, int strideW, int padTop, int padLeft, int padBottom, int padRight,
                                   int dilationH, int dilationW, int groups, int kernelH, int kernelW) implements Op {

    /** The forward convolution this is the filter gradient of. */
    public Conv2d conv() {
        return new Conv2d(strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW, groups);
    }

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 2);
        Shape x = inputs.get(0), dy = inputs.get(1);
        Conv2d.requireRank("input x", x, 4, "[N, C, H, W]");
        Conv2d.requireRank("gradient dy", dy, 4, "[N, O, Ho, Wo]");
        Conv2d.checkAttributes(strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW, groups);
        ShapeException.require(kernelH >= 1 && kernelW >= 1, "kernel must be at least 1x1, got %dx%d", kernelH, kernelW);
        ShapeException.require(x.dim(0) == dy.dim(0), "batch of x (%d) and dy (%d) must be equal", x.dim(0), dy.dim(0));
        int c = x.dim(1), o = dy.dim(1);
        Shape w = Shape.of(o, groups >= 1 ? c / groups : c, kernelH, kernelW);
        Conv2d.checkChannels(c, o, w, groups, "input");
        Conv2dBackwardData.checkOutputSize(dy, x.dim(2), x.dim(3), kernelH, kernelW, conv());
        return List.of(w);
    }

    /** Bilinear in (x, dy): d(x) is the data gradient with the incoming gradient as the weight, d(dy) a convolution. */
    @Override public List<Value> backward(GradContext g) {
        GraphBuilder b = g.builder();
        Value x = g.input(0), dy = g.input(1), gw = g.gradOutput(0);
        Value gx = null, gdy = null;
        if (g.needsGrad(0))
            gx = b.apply("conv2d_dx", conv().backwardData(x.shape().dim(2), x.shape().dim(3)), dy, gw);
        if (g.needsGrad(1)) gdy = b.apply("conv2d", conv(), x, gw);
        return Arrays.asList(gx, gdy);
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        Shape w = outputs.getFirst();
        return 2L * inputs.get(1).size() * w.dim(1) * w.dim(2) * w.dim(3);
    }
}
