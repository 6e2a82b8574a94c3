package dev.stride.engine.cpu;

import dev.stride.graph.Node;
import dev.stride.graph.op.Conv2d;

/**
 * The heuristic algorithm choice for convolutions on the cpu backend (the measured choice, autotune, overrides
 * it). Entries: {@value #IM2COL} (every configuration), {@value #GEMM_1X1} (1x1, stride 1, no padding: the input
 * already is the im2col matrix), {@value #DEPTHWISE} (groups = in channels = out channels), {@value #WINOGRAD_F2}
 * and {@value #WINOGRAD_F4} (3x3, stride 1, dilation 1, groups 1). Other ops get "" (one algorithm).
 */
public final class ConvChooser {
    public static final String IM2COL = "im2col";
    public static final String GEMM_1X1 = "gemm1x1";
    public static final String DEPTHWISE = "depthwise";
    public static final String WINOGRAD_F2 = "winograd-f2x3";
    public static final String WINOGRAD_F4 = "winograd-f4x3";

    private ConvChooser() {}

    static String choose(Node n) {
        if (n.op() instanceof Conv2d c) return forward(c, n);
        return "";
    }

    static String forward(Conv2d c, Node n) {
        var x = n.inputs().get(0).shape();
        var w = n.inputs().get(1).shape();
        int channels = x.dim(1), out = w.dim(0), kH = w.dim(2), kW = w.dim(3);
        if (c.groups() > 1 && c.groups() == channels && out == channels) return DEPTHWISE;
        if (kH == 1 && kW == 1 && c.strideH() == 1 && c.strideW() == 1 && c.groups() == 1
                && c.padTop() == 0 && c.padLeft() == 0 && c.padBottom() == 0 && c.padRight() == 0) return GEMM_1X1;
        return IM2COL;
    }
}
