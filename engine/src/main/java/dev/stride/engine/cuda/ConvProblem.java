package dev.stride.engine.cuda;

import dev.stride.graph.Node;
import dev.stride.graph.Shape;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Conv2dBackwardData;
import dev.stride.graph.op.Conv2dBackwardFilter;
import dev.stride.graph.op.ConvTranspose2d;

import java.util.Arrays;

/**
 * One convolution node of the graph as the convolution it computes a pass of, in the terms cuDNN (and the direct
 * kernels) use: the forward convolution x[N, C, H, W] * w[O, C/groups, kH, kW] -> y[N, O, Ho, Wo], and which of
 * its three passes the node is. Conv2d is the forward pass; Conv2dBackwardData the data pass (dy, w -> dx);
 * ConvTranspose2d the data pass of its adjoint convolution (its input plays dy, its output dx); Conv2dBackwardFilter
 * the filter pass (x, dy -> dw). cuDNN infers the groups from C / w.dim(1).
 *
 * <p>Padding: {@link #prePadding} (top, left) decides where every window starts. The end padding (bottom, right)
 * only decides the output size, so {@link #postPadding} is the start padding again wherever that gives the same
 * output size (symmetric padding, which every cuDNN engine supports) and the graph's own end padding otherwise.
 * Both satisfy cuDNN's rule out = floor((in + pre + post - dilation (k - 1) - 1) / stride) + 1.
 *
 * @param pass        which pass of the convolution the node computes
 * @param x           the convolution's input dims [N, C, H, W]
 * @param w           the filter dims [O, C/groups, kH, kW]
 * @param y           the convolution's output dims [N, O, Ho, Wo]
 * @param groups      C / w[1]
 * @param bias        the node has a bias input added per channel of its output (Conv2d: y's; ConvTranspose2d: dx's)
 */
public record ConvProblem(Pass pass, long[] x, long[] w, long[] y, long[] prePadding, long[] postPadding,
                          long[] strides, long[] dilations, int groups, boolean bias) {

    public enum Pass {
        /** y from (x, w). */
        FORWARD,
        /** dx from (dy, w). */
        BACKWARD_DATA,
        /** dw from (x, dy). */
        BACKWARD_FILTER
    }

    /** The problem of a Conv2d, Conv2dBackwardData, ConvTranspose2d or Conv2dBackwardFilter node. */
    public static ConvProblem of(Node n) {
        Shape in0 = n.inputs().get(0).shape(), in1 = n.inputs().get(1).shape(), out = n.outputs().getFirst().shape();
        boolean bias = n.inputs().size() == 3;
        return switch (n.op()) {
            case Conv2d c -> of(Pass.FORWARD, c, in0, in1, out, bias);
            case Conv2dBackwardData d -> of(Pass.BACKWARD_DATA, d.conv(), out, in1, in0, false);
            case ConvTranspose2d t -> of(Pass.BACKWARD_DATA, t.adjointConv(), out, in1, in0, bias);
            case Conv2dBackwardFilter f -> of(Pass.BACKWARD_FILTER, f.conv(), in0, out, in1, false);
            default -> throw new IllegalArgumentException("not a convolution: " + n.op().kind());
        };
    }

    /** From the forward convolution's attributes and the shapes of its x, w and y (whatever the node's roles). */
    public static ConvProblem of(Pass pass, Conv2d c, Shape x, Shape w, Shape y, boolean bias) {
        long[] pre = {c.padTop(), c.padLeft()};
        long[] post = {
                endPadding(x.dim(2), c.padTop(), c.padBottom(), w.dim(2), c.dilationH(), c.strideH(), y.dim(2)),
                endPadding(x.dim(3), c.padLeft(), c.padRight(), w.dim(3), c.dilationW(), c.strideW(), y.dim(3))};
        return new ConvProblem(pass, dims(x), dims(w), dims(y), pre, post, new long[] {c.strideH(), c.strideW()},
                new long[] {c.dilationH(), c.dilationW()}, c.groups(), bias);
    }

    /** The start padding when it yields {@code out} as well as the real end padding does, otherwise that one. */
    static long endPadding(int in, int pre, int post, int k, int d, int s, int out) {
        return outputSize(in, pre, pre, k, d, s) == out ? pre : post;
    }

    /** cuDNN's (and Stride's) output size: floor((in + pre + post - d (k - 1) - 1) / s) + 1. */
    static long outputSize(long in, long pre, long post, long k, long d, long s) {
        return Math.floorDiv(in + pre + post - d * (k - 1) - 1, s) + 1;
    }

    /** Packed NCHW strides of {@code dims}: the last dimension contiguous. */
    public static long[] packedStrides(long[] dims) {
        long[] s = new long[dims.length];
        long step = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = step;
            step *= dims[i];
        }
        return s;
    }

    private static long[] dims(Shape s) {
        long[] d = new long[s.rank()];
        for (int i = 0; i < d.length; i++) d[i] = s.dim(i);
        return d;
    }

    /** The per-channel bias as cuDNN broadcasts it: [1, channels, 1, 1] of the node's output channels. */
    public long[] biasDims() {
        long channels = pass == Pass.FORWARD ? y[1] : x[1];
        return new long[] {1, channels, 1, 1};
    }

    /** The dims of the node's output tensor: y, x (dx) or w (dw) by pass. */
    public long[] outputDims() {
        return switch (pass) {
            case FORWARD -> y;
            case BACKWARD_DATA -> x;
            case BACKWARD_FILTER -> w;
        };
    }

    /** Multiply-adds of the pass: the same for all three, N O Ho Wo (C/groups) kH kW. */
    public long multiplyAdds() { return y[0] * y[1] * y[2] * y[3] * w[1] * w[2] * w[3]; }

    /** A stable text key: nodes with equal keys are the same cuDNN problem (autotuning measures them once). */
    public String key() {
        return pass + " x" + Arrays.toString(x) + " w" + Arrays.toString(w) + " y" + Arrays.toString(y) + " pre"
                + Arrays.toString(prePadding) + " post" + Arrays.toString(postPadding) + " s" + Arrays.toString(strides)
                + " d" + Arrays.toString(dilations) + (bias ? " +bias" : "");
    }

    @Override public boolean equals(Object o) { return o instanceof ConvProblem p && p.key().equals(key()); }

    @Override public int hashCode() { return key().hashCode(); }

    @Override public String toString() { return key(); }
}
