package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.GraphException;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/**
 * Transposed 2-D convolution (PyTorch's ConvTranspose2d): x[N, Cin, H, W], w[Cin, Cout/groups, kH, kW], optional
 * b[Cout] -> y[N, Cout, Ho, Wo] with Ho = (H-1)*strideH - padTop - padBottom + dilationH*(kH-1) + outputPaddingH + 1.
 * It is the adjoint of a {@link Conv2d} with the same attributes taking y's size to x's, so its forward pass is
 * that convolution's data gradient (the reference backend shares the kernel) and its gradients are convolutions.
 */
public record ConvTranspose2d(int strideH, int strideW, int padTop, int padLeft, int padBottom, int padRight,
                              int outputPaddingH, int outputPaddingW, int dilationH, int dilationW, int groups)
        implements Op {

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 2, 3);
        Shape x = inputs.get(0), w = inputs.get(1);
        Conv2d.requireRank("input x", x, 4, "[N, Cin, H, W]");
        Conv2d.requireRank("weight w", w, 4, "[Cin, Cout/groups, kH, kW]");
        Conv2d.checkAttributes(strideH, strideW, padTop, padLeft, padBottom, padRight, dilationH, dilationW, groups);
        checkOutputPadding("H", outputPaddingH, strideH, dilationH);
        checkOutputPadding("W", outputPaddingW, strideW, dilationW);
        int cin = x.dim(1);
        ShapeException.require(cin >= 1, "input channels Cin = %d, must be >= 1", cin);
        ShapeException.require(w.dim(0) == cin, "weight dimension 0 must be the input channels Cin = %d, got %d",
                cin, w.dim(0));
        ShapeException.require(cin % groups == 0, "input channels Cin = %d must be divisible by groups = %d",
                cin, groups);
        ShapeException.require(w.dim(1) >= 1, "weight dimension 1 (Cout/groups) must be >= 1, got %d", w.dim(1));
        ShapeException.require(w.dim(2) >= 1 && w.dim(3) >= 1, "kernel must be at least 1x1, got %dx%d",
                w.dim(2), w.dim(3));
        int cout = Math.multiplyExact(w.dim(1), groups);
        if (inputs.size() == 3) Conv2d.checkBias(inputs.get(2), cout);
        int ho = outputSize(true, x.dim(2), padTop, padBottom, w.dim(2), dilationH, strideH, outputPaddingH);
        int wo = outputSize(false, x.dim(3), padLeft, padRight, w.dim(3), dilationW, strideW, outputPaddingW);
        return List.of(Shape.of(x.dim(0), cout, ho, wo));
    }

    private static void checkOutputPadding(String ax, int op, int s, int d) {
        ShapeException.require(op >= 0, "outputPadding%s must be >= 0, got %d", ax, op);
        ShapeException.require(op < s || op < d,
                "outputPadding%s = %d must be smaller than stride%s = %d or dilation%s = %d", ax, op, ax, s, ax, d);
    }

    private static int outputSize(boolean height, int n, int p0, int p1, int k, int d, int s, int op) {
        long out = (long) (n - 1) * s - p0 - p1 + (long) d * (k - 1) + op + 1;
        String ax = height ? "H" : "W";
        ShapeException.require(out >= 1 && out <= Integer.MAX_VALUE,
                "output %s = (%s-1)*stride%s - %s - %s + dilation%s*(k%s-1) + outputPadding%s + 1 = (%d-1)*%d - %d - %d + %d*(%d-1) + %d + 1 = %d, must be >= 1",
                height ? "height" : "width", ax, ax, height ? "padTop" : "padLeft", height ? "padBottom" : "padRight",
                ax, ax, ax, n, s, p0, p1, d, k, op, out);
        return (int) out;
    }

    /**
     * The convolution this op is the adjoint of: it takes an Ho x Wo tensor back to H x W. Same attributes when the
     * output padding is below the stride (the usual case). Otherwise the output padding adds whole strides of
     * rows that the convolution must not turn into outputs; the end padding is lowered to drop them, which
     * changes nothing computed because the end padding only decides the output size.
     */
    public Conv2d adjointConv() {
        return new Conv2d(strideH, strideW, padTop, padLeft,
                adjointEndPad("H", padBottom, outputPaddingH, strideH),
                adjointEndPad("W", padRight, outputPaddingW, strideW), dilationH, dilationW, groups);
    }

    private static int adjointEndPad(String ax, int pad, int op, int s) {
        if (op < s) return pad;
        // Valid end pads e give floor(((H-1)*s + op + e - pad)/s) = H-1: pad - op <= e <= pad - op + s - 1.
        if (pad - op + s - 1 < 0)
            throw new GraphException("gradient of ConvTranspose2d with outputPadding" + ax + " = " + op
                    + " >= stride" + ax + " + end padding = " + s + " + " + pad + " is not supported: no convolution"
                    + " with non-negative padding maps the output size back to the input size");
        return Math.max(0, pad - op);
    }

    @Override public List<Value> backward(GradContext g) {
        GraphBuilder b = g.builder();
        Value x = g.input(0), w = g.input(1), dy = g.gradOutput(0);
        Value[] grads = new Value[g.node().inputs().size()];
        if (g.needsGrad(0) || g.needsGrad(1)) {
            Conv2d adj = adjointConv();
            if (g.needsGrad(0)) grads[0] = b.apply("conv_transpose2d_dx", adj, dy, w);
            // The roles of the convolution swap: dy is its input, x its output gradient.
            if (g.needsGrad(1))
                grads[1] = b.apply("conv_transpose2d_dw", adj.backwardFilter(w.shape().dim(2), w.shape().dim(3)), dy, x);
        }
        if (grads.length == 3 && g.needsGrad(2)) grads[2] = b.apply("conv_transpose2d_db", new BiasGrad(), dy);
        return Arrays.asList(grads);
    }

    /** 2 * N*Cin*H*W * (Cout/groups)*kH*kW multiply-adds, plus one add per output for the bias. */
    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        Shape w = inputs.get(1);
        long macs = 2L * inputs.getFirst().size() * w.dim(1) * w.dim(2) * w.dim(3);
        return macs + (inputs.size() == 3 ? outputs.getFirst().size() : 0);
    }
}
