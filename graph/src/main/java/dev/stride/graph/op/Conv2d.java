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
 * 2-D convolution (cross-correlation, as in every framework): x[N, C, H, W], w[O, C/groups, kH, kW], optional
 * b[O] -> y[N, O, Ho, Wo] with Ho = floor((H + padTop + padBottom - dilationH*(kH-1) - 1)/strideH) + 1, and the
 * same for the width. Channels split into {@code groups} independent groups (groups = C is depthwise).
 *
 * <p>The computation itself depends on padTop / padLeft (where the window starts) and on the output size only;
 * padBottom / padRight enter through the output size. The gradient ops rely on that.
 */
public record Conv2d(int strideH, int strideW, int padTop, int padLeft, int padBottom, int padRight,
                     int dilationH, int dilationW, int groups) implements Op {

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 2, 3);
        Shape x = inputs.get(0), w = inputs.get(1);
        requireRank("input x", x, 4, "[N, C, H, W]");
        requireRank("weight w", w, 4, "[O, C/groups, kH, kW]");
        checkAttributes(strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW, groups);
        int c = x.dim(1), o = w.dim(0);
        checkChannels(c, o, w, groups, "input");
        if (inputs.size() == 3) checkBias(inputs.get(2), o);
        int ho = outputSize(true, x.dim(2), padTop, padBottom, w.dim(2), dilationH, strideH);
        int wo = outputSize(false, x.dim(3), padLeft, padRight, w.dim(3), dilationW, strideW);
        return List.of(Shape.of(x.dim(0), o, ho, wo));
    }

    @Override public List<Value> backward(GradContext g) {
        GraphBuilder b = g.builder();
        Value x = g.input(0), w = g.input(1), dy = g.gradOutput(0);
        Value[] grads = new Value[g.node().inputs().size()];
        if (g.needsGrad(0)) grads[0] = b.apply("conv2d_dx", backwardData(x.shape().dim(2), x.shape().dim(3)), dy, w);
        if (g.needsGrad(1)) grads[1] = b.apply("conv2d_dw", backwardFilter(w.shape().dim(2), w.shape().dim(3)), x, dy);
        if (grads.length == 3 && g.needsGrad(2)) grads[2] = b.apply("conv2d_db", new BiasGrad(), dy);
        return Arrays.asList(grads);
    }

    /** 2 * N*O*Ho*Wo * (C/groups)*kH*kW multiply-adds, plus one add per output for the bias. */
    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        Shape w = inputs.get(1);
        long perOutput = 2L * w.dim(1) * w.dim(2) * w.dim(3) + (inputs.size() == 3 ? 1 : 0);
        return outputs.getFirst().size() * perOutput;
    }

    /** The op computing dx from (dy, w) for an input of spatial size inputH x inputW. */
    public Conv2dBackwardData backwardData(int inputH, int inputW) {
        return new Conv2dBackwardData(strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW,
                groups, inputH, inputW);
    }

    /** The op computing dw from (x, dy) for a kernel of size kernelH x kernelW. */
    public Conv2dBackwardFilter backwardFilter(int kernelH, int kernelW) {
        return new Conv2dBackwardFilter(strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW,
                groups, kernelH, kernelW);
    }

    // ---- shape rules shared by the convolution family ----

    static void requireRank(String what, Shape s, int rank, String layout) {
        ShapeException.require(s.rank() == rank, "%s must have rank %d %s, got %s", what, rank, layout, s);
    }

    static void checkAttributes(int sH, int sW, int pt, int pl, int pb, int pr, int dH, int dW, int groups) {
        ShapeException.require(sH >= 1 && sW >= 1, "stride must be >= 1, got strideH = %d, strideW = %d", sH, sW);
        ShapeException.require(dH >= 1 && dW >= 1, "dilation must be >= 1, got dilationH = %d, dilationW = %d", dH, dW);
        ShapeException.require(pt >= 0 && pl >= 0 && pb >= 0 && pr >= 0,
                "padding must be >= 0, got padTop = %d, padLeft = %d, padBottom = %d, padRight = %d", pt, pl, pb, pr);
        ShapeException.require(groups >= 1, "groups must be >= 1, got %d", groups);
    }

    /**
     * Channel rules of a convolution with weight w[O, C/groups, kH, kW]: C and O divisible by groups, w's second
     * dimension C/groups, a kernel of at least 1x1. {@code cName} names where C comes from.
     */
    static void checkChannels(int c, int o, Shape w, int groups, String cName) {
        ShapeException.require(c >= 1, "%s channels C = %d, must be >= 1", cName, c);
        ShapeException.require(c % groups == 0, "%s channels C = %d must be divisible by groups = %d", cName, c, groups);
        ShapeException.require(o >= 1, "weight output channels O = w.dim(0) = %d, must be >= 1", o);
        ShapeException.require(o % groups == 0,
                "weight output channels O = w.dim(0) = %d must be divisible by groups = %d", o, groups);
        ShapeException.require(w.dim(1) == c / groups,
                "weight dimension 1 must be C/groups = %d/%d = %d, got %d", c, groups, c / groups, w.dim(1));
        ShapeException.require(w.dim(2) >= 1 && w.dim(3) >= 1, "kernel must be at least 1x1, got %dx%d",
                w.dim(2), w.dim(3));
    }

    static void checkBias(Shape b, int channels) {
        ShapeException.require(b.rank() == 1 && b.dim(0) == channels,
                "bias must have shape [%d] (one per output channel), got %s", channels, b);
    }

    /**
     * floor((n + p0 + p1 - d*(k-1) - 1)/s) + 1, required >= 1; the message evaluates the formula. Attributes must
     * already be checked (s >= 1).
     */
    static int outputSize(boolean height, int n, int p0, int p1, int k, int d, int s) {
        long num = (long) n + p0 + p1 - (long) d * (k - 1) - 1;
        long out = Math.floorDiv(num, s) + 1;
        String ax = height ? "H" : "W";
        ShapeException.require(out >= 1 && out <= Integer.MAX_VALUE,
                "output %s = floor((%s + %s + %s - dilation%s*(k%s-1) - 1)/stride%s) + 1 = floor((%d + %d + %d - %d*(%d-1) - 1)/%d) + 1 = %d, must be >= 1",
                height ? "height" : "width", ax, height ? "padTop" : "padLeft", height ? "padBottom" : "padRight",
                ax, ax, ax, n, p0, p1, d, k, s, out);
        return (int) out;
    }
}
