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
 * Gradient of {@link Conv2d} with respect to its input: (dy[N, O, Ho, Wo], w[O, C/groups, kH, kW]) ->
 * dx[N, C, inputH, inputW], the adjoint of the convolution with these attributes. It carries the input size
 * because the convolution's floor loses it: several input sizes give the same Ho, and the rows a stride skips
 * at the bottom get a zero gradient.
 */
public record Conv2dBackwardData(int strideH, int strideW, int padTop, int padLeft, int padBottom, int padRight,
                                 int dilationH, int dilationW, int groups, int inputH, int inputW) implements Op {

    /** The forward convolution this is the data gradient of. */
    public Conv2d conv() {
        return new Conv2d(strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW, groups);
    }

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 2);
        Shape dy = inputs.get(0), w = inputs.get(1);
        Conv2d.requireRank("gradient dy", dy, 4, "[N, O, Ho, Wo]");
        Conv2d.requireRank("weight w", w, 4, "[O, C/groups, kH, kW]");
        Conv2d.checkAttributes(strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW, groups);
        ShapeException.require(inputH >= 1 && inputW >= 1, "input size must be >= 1, got inputH = %d, inputW = %d",
                inputH, inputW);
        int o = w.dim(0), c = w.dim(1) * groups;
        Conv2d.checkChannels(c, o, w, groups, "input");
        ShapeException.require(dy.dim(1) == o, "dy channels %d must equal the weight's output channels O = %d",
                dy.dim(1), o);
        checkOutputSize(dy, inputH, inputW, w.dim(2), w.dim(3), conv());
        return List.of(Shape.of(dy.dim(0), c, inputH, inputW));
    }

    /** The forward convolution of an inputH x inputW input must produce dy's spatial size. */
    static void checkOutputSize(Shape dy, int inputH, int inputW, int kH, int kW, Conv2d c) {
        int ho = Conv2d.outputSize(true, inputH, c.padTop(), c.padBottom(), kH, c.dilationH(), c.strideH());
        int wo = Conv2d.outputSize(false, inputW, c.padLeft(), c.padRight(), kW, c.dilationW(), c.strideW());
        ShapeException.require(dy.dim(2) == ho && dy.dim(3) == wo,
                "dy spatial size %dx%d must equal the convolution's output size %dx%d for input %dx%d and kernel %dx%d",
                dy.dim(2), dy.dim(3), ho, wo, inputH, inputW, kH, kW);
    }

    /** Bilinear in (dy, w): d(dy) is the forward convolution of the incoming gradient, d(w) its filter gradient. */
    @Override public List<Value> backward(GradContext g) {
        GraphBuilder b = g.builder();
        Value dy = g.input(0), w = g.input(1), gx = g.gradOutput(0);
        Value gdy = null, gw = null;
        if (g.needsGrad(0)) gdy = b.apply("conv2d", conv(), gx, w);
        if (g.needsGrad(1)) gw = b.apply("conv2d_dw", conv().backwardFilter(w.shape().dim(2), w.shape().dim(3)), gx, dy);
        return Arrays.asList(gdy, gw);
    }

    /** The forward convolution's multiply-adds: every (dy element, kernel tap) pair scatters once. */
    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        Shape w = inputs.get(1);
        return 2L * inputs.getFirst().size() * w.dim(1) * w.dim(2) * w.dim(3);
    }
}
