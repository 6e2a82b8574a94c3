package dev.stride.graph;

import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.ConvTranspose2d;

/**
 * Builder DSL of the convolution family (see {@link DslBase}). Layer methods create their parameters,
 * {@code <scope>/<name>/weight} (Kaiming normal) and {@code <scope>/<name>/bias} (zeros), and name the node
 * {@code <scope>/<name>}; the low-level methods apply the op to tensors the caller already has.
 * A {@code null} spec means {@link ConvSpec#defaults()}.
 */
public interface ConvDsl extends DslBase {

    /** Convolution layer: weight [outChannels, C/groups, kernelH, kernelW], bias [outChannels] if the spec has one. */
    default Value conv2d(String name, Value x, int outChannels, int kernelH, int kernelW, ConvSpec spec) {
        ConvSpec s = spec == null ? ConvSpec.defaults() : spec;
        int c = channels(name, "conv2d", x);
        // C % groups is reported by the op's shape rule; the division only has to not throw first.
        int perGroup = s.groups() >= 1 ? c / s.groups() : c;
        Value w = param(name + "/weight", Shape.of(outChannels, perGroup, kernelH, kernelW), Init.kaimingNormal());
        Value b = s.hasBias() ? param(name + "/bias", Shape.of(outChannels), Init.zeros()) : null;
        Conv2d op = s.conv2d(x.shape().dim(2), x.shape().dim(3), kernelH, kernelW);
        return b == null ? apply(name, op, x, w) : apply(name, op, x, w, b);
    }

    /** Convolution layer with a square kernel. */
    default Value conv2d(String name, Value x, int outChannels, int kernel, ConvSpec spec) {
        return conv2d(name, x, outChannels, kernel, kernel, spec);
    }

    /**
     * Convolution of x[N, C, H, W] with an existing weight w[O, C/groups, kH, kW] and optional bias[O]
     * ({@code null}: none; the spec's bias flag is not consulted). The node is named "conv2d".
     */
    default Value conv2d(Value x, Value w, Value bias, ConvSpec spec) {
        ConvSpec s = spec == null ? ConvSpec.defaults() : spec;
        Conv2d op = bothRank4(x, w)
                ? s.conv2d(x.shape().dim(2), x.shape().dim(3), w.shape().dim(2), w.shape().dim(3))
                : s.conv2d(0, 0, 1, 1);   // the op's shape rule reports the rank
        return bias == null ? apply("conv2d", op, x, w) : apply("conv2d", op, x, w, bias);
    }

    /**
     * Transposed convolution layer: weight [Cin, outChannels/groups, kernelH, kernelW] (PyTorch layout), bias
     * [outChannels] if the spec has one. The spec's outputPadding applies here.
     */
    default Value convTranspose2d(String name, Value x, int outChannels, int kernelH, int kernelW, ConvSpec spec) {
        ConvSpec s = spec == null ? ConvSpec.defaults() : spec;
        int cin = channels(name, "convTranspose2d", x);
        if (s.groups() >= 1 && outChannels % s.groups() != 0)
            throw new GraphException("convTranspose2d '" + name + "': output channels " + outChannels
                    + " must be divisible by groups = " + s.groups());
        int perGroup = s.groups() >= 1 ? outChannels / s.groups() : outChannels;
        Value w = param(name + "/weight", Shape.of(cin, perGroup, kernelH, kernelW), Init.kaimingNormal());
        Value b = s.hasBias() ? param(name + "/bias", Shape.of(outChannels), Init.zeros()) : null;
        ConvTranspose2d op = s.convTranspose2d(x.shape().dim(2), x.shape().dim(3), kernelH, kernelW);
        return b == null ? apply(name, op, x, w) : apply(name, op, x, w, b);
    }

    /** Transposed convolution layer with a square kernel. */
    default Value convTranspose2d(String name, Value x, int outChannels, int kernel, ConvSpec spec) {
        return convTranspose2d(name, x, outChannels, kernel, kernel, spec);
    }

    /**
     * Transposed convolution of x[N, Cin, H, W] with an existing weight w[Cin, Cout/groups, kH, kW] and optional
     * bias[Cout] ({@code null}: none). The node is named "conv_transpose2d".
     */
    default Value convTranspose2d(Value x, Value w, Value bias, ConvSpec spec) {
        ConvSpec s = spec == null ? ConvSpec.defaults() : spec;
        ConvTranspose2d op = bothRank4(x, w)
                ? s.convTranspose2d(x.shape().dim(2), x.shape().dim(3), w.shape().dim(2), w.shape().dim(3))
                : s.convTranspose2d(1, 1, 1, 1);
        return bias == null ? apply("conv_transpose2d", op, x, w) : apply("conv_transpose2d", op, x, w, bias);
    }

    /** The channel count the parameters are sized from; everything else is checked by the op's shape rule. */
    private static int channels(String name, String method, Value x) {
        if (x.shape().rank() != 4)
            throw new GraphException(method + " '" + name + "': input " + x.name()
                    + " must have rank 4 [N, C, H, W], got " + x.shape());
        return x.shape().dim(1);
    }

    private static boolean bothRank4(Value x, Value w) { return x.shape().rank() == 4 && w.shape().rank() == 4; }
}
