package dev.stride.graph;

import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.ConvTranspose2d;

/**
 * Options of a 2-D convolution or transposed convolution, immutable, with fluent withers:
 * {@code ConvSpec.defaults().stride(2).padSame().bias(false)}.
 *
 * <p>The spec does not validate: the op built from it does, in its shape rule, where the message can name the
 * node, the input shapes and the formula with its numbers. "Same" padding is resolved only when the spec meets a
 * concrete input size ({@link #conv2d}, {@link #convTranspose2d}).
 */
public final class ConvSpec {
    private final int strideH, strideW;
    private final int padTop, padLeft, padBottom, padRight;
    private final boolean padSame;
    private final int dilationH, dilationW;
    private final int groups;
    private final boolean bias;
    private final int outputPaddingH, outputPaddingW;

    private ConvSpec(int strideH, int strideW, int padTop, int padLeft, int padBottom, int padRight, boolean padSame,
                     int dilationH, int dilationW, int groups, boolean bias, int outputPaddingH, int outputPaddingW) {
        this.strideH = strideH;
        this.strideW = strideW;
        this.padTop = padTop;
        this.padLeft = padLeft;
        this.padBottom = padBottom;
        this.padRight = padRight;
        this.padSame = padSame;
        this.dilationH = dilationH;
        this.dilationW = dilationW;
        this.groups = groups;
        this.bias = bias;
        this.outputPaddingH = outputPaddingH;
        this.outputPaddingW = outputPaddingW;
    }

    private static final ConvSpec DEFAULTS = new ConvSpec(1, 1, 0, 0, 0, 0, false, 1, 1, 1, true, 0, 0);

    /** Stride 1, no padding, dilation 1, one group, with bias, no output padding. */
    public static ConvSpec defaults() { return DEFAULTS; }

    public ConvSpec stride(int s) { return stride(s, s); }

    public ConvSpec stride(int h, int w) {
        return new ConvSpec(h, w, padTop, padLeft, padBottom, padRight, padSame, dilationH, dilationW, groups, bias,
                outputPaddingH, outputPaddingW);
    }

    /** The same explicit padding on all four sides. */
    public ConvSpec pad(int p) { return pad(p, p, p, p); }

    /** Explicit, possibly asymmetric padding; replaces {@link #padSame()}. */
    public ConvSpec pad(int top, int left, int bottom, int right) {
        return new ConvSpec(strideH, strideW, top, left, bottom, right, false, dilationH, dilationW, groups, bias,
                outputPaddingH, outputPaddingW);
    }

    /**
     * "Same" padding (TensorFlow / ONNX SAME_UPPER): output size ceil(H / stride) for a convolution, H * stride for
     * a transposed one; an odd total puts the extra pixel at the bottom / right. Replaces explicit padding.
     */
    public ConvSpec padSame() {
        return new ConvSpec(strideH, strideW, 0, 0, 0, 0, true, dilationH, dilationW, groups, bias,
                outputPaddingH, outputPaddingW);
    }

    public ConvSpec dilation(int d) { return dilation(d, d); }

    public ConvSpec dilation(int h, int w) {
        return new ConvSpec(strideH, strideW, padTop, padLeft, padBottom, padRight, padSame, h, w, groups, bias,
                outputPaddingH, outputPaddingW);
    }

    public ConvSpec groups(int g) {
        return new ConvSpec(strideH, strideW, padTop, padLeft, padBottom, padRight, padSame, dilationH, dilationW, g,
                bias, outputPaddingH, outputPaddingW);
    }

    public ConvSpec bias(boolean b) {
        return new ConvSpec(strideH, strideW, padTop, padLeft, padBottom, padRight, padSame, dilationH, dilationW,
                groups, b, outputPaddingH, outputPaddingW);
    }

    /** Extra rows / columns at the bottom / right of a transposed convolution's output; ignored by conv2d. */
    public ConvSpec outputPadding(int h, int w) {
        return new ConvSpec(strideH, strideW, padTop, padLeft, padBottom, padRight, padSame, dilationH, dilationW,
                groups, bias, h, w);
    }

    public int strideH() { return strideH; }
    public int strideW() { return strideW; }
    public int padTop() { return padTop; }
    public int padLeft() { return padLeft; }
    public int padBottom() { return padBottom; }
    public int padRight() { return padRight; }
    public boolean isPadSame() { return padSame; }
    public int dilationH() { return dilationH; }
    public int dilationW() { return dilationW; }
    public int groups() { return groups; }
    public boolean hasBias() { return bias; }
    public int outputPaddingH() { return outputPaddingH; }
    public int outputPaddingW() { return outputPaddingW; }

    /**
     * Total "same" padding of a convolution along one axis: max((ceil(n/s) - 1)*s + (k-1)*d + 1 - n, 0).
     * Nonsense attributes (stride < 1) resolve to 0 and are reported by the op's shape rule.
     */
    static int sameTotal(int n, int k, int s, int d) {
        if (s < 1 || n < 0) return 0;
        long out = (n + (long) s - 1) / s;
        long total = (out - 1) * s + (long) (k - 1) * d + 1 - n;
        return (int) Math.max(0, Math.min(total, Integer.MAX_VALUE));
    }

    /** The Conv2d op for an input of spatial size h x w and a kernel kH x kW, "same" padding resolved. */
    public Conv2d conv2d(int h, int w, int kH, int kW) {
        int pt = padTop, pl = padLeft, pb = padBottom, pr = padRight;
        if (padSame) {
            int th = sameTotal(h, kH, strideH, dilationH), tw = sameTotal(w, kW, strideW, dilationW);
            pt = th / 2;
            pb = th - pt;
            pl = tw / 2;
            pr = tw - pl;
        }
        return new Conv2d(strideH, strideW, pt, pl, pb, pr, dilationH, dilationW, groups);
    }

    /**
     * The ConvTranspose2d op for an input of spatial size h x w and a kernel kH x kW. "Same" makes the output
     * h*stride x w*stride (ONNX auto_pad SAME_UPPER): the padding total is (k-1)*d + 1 - s + outputPadding, split
     * with the extra pixel at the end; where that total is negative (kernel smaller than the stride) the missing
     * rows come from a larger output padding instead, as TensorFlow's conv2d_transpose does.
     */
    public ConvTranspose2d convTranspose2d(int h, int w, int kH, int kW) {
        int pt = padTop, pl = padLeft, pb = padBottom, pr = padRight, oph = outputPaddingH, opw = outputPaddingW;
        if (padSame) {
            int th = (kH - 1) * dilationH + 1 - strideH + outputPaddingH;
            int tw = (kW - 1) * dilationW + 1 - strideW + outputPaddingW;
            if (th >= 0) { pt = th / 2; pb = th - pt; } else { pt = pb = 0; oph = outputPaddingH - th; }
            if (tw >= 0) { pl = tw / 2; pr = tw - pl; } else { pl = pr = 0; opw = outputPaddingW - tw; }
        }
        return new ConvTranspose2d(strideH, strideW, pt, pl, pb, pr, oph, opw, dilationH, dilationW, groups);
    }

    @Override public String toString() {
        return "ConvSpec{stride=" + strideH + "x" + strideW
                + (padSame ? ", pad=same" : ", pad=[" + padTop + ", " + padLeft + ", " + padBottom + ", " + padRight + "]")
                + ", dilation=" + dilationH + "x" + dilationW + ", groups=" + groups + ", bias=" + bias
                + ", outputPadding=" + outputPaddingH + "x" + outputPaddingW + "}";
    }

    @Override public boolean equals(Object o) {
        return o instanceof ConvSpec s && strideH == s.strideH && strideW == s.strideW && padTop == s.padTop
                && padLeft == s.padLeft && padBottom == s.padBottom && padRight == s.padRight && padSame == s.padSame
                && dilationH == s.dilationH && dilationW == s.dilationW && groups == s.groups && bias == s.bias
                && outputPaddingH == s.outputPaddingH && outputPaddingW == s.outputPaddingW;
    }

    @Override public int hashCode() {
        return java.util.Objects.hash(strideH, strideW, padTop, padLeft, padBottom, padRight, padSame, dilationH,
                dilationW, groups, bias, outputPaddingH, outputPaddingW);
    }
}
