package dev.stride.engine.cpu;

import dev.stride.graph.Node;
import dev.stride.graph.Shape;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Conv2dBackwardData;
import dev.stride.graph.op.Conv2dBackwardFilter;

import java.util.ArrayList;
import java.util.List;

/**
 * The heuristic algorithm choice for convolutions on the cpu backend ({@link Autotuner} measures instead).
 * Entries: {@value #IM2COL} (every configuration), {@value #GEMM_1X1} (1x1, stride 1, no padding: the input
 * already is the im2col matrix), {@value #DEPTHWISE} (groups = in channels = out channels), {@value #WINOGRAD_F2}
 * and {@value #WINOGRAD_F4} (3x3, stride 1, dilation 1, groups 1). Conv2dBackwardData takes {@value #IM2COL},
 * the two Winograd entries or {@value #DEPTHWISE}; Conv2dBackwardFilter {@value #IM2COL} or {@value #DEPTHWISE}.
 * Other ops get "" (one algorithm).
 */
public final class ConvChooser {
    public static final String IM2COL = "im2col";
    public static final String GEMM_1X1 = "gemm1x1";
    public static final String DEPTHWISE = "depthwise";
    public static final String WINOGRAD_F2 = "winograd-f2x3";
    public static final String WINOGRAD_F4 = "winograd-f4x3";

    private ConvChooser() {}

    static String choose(Node n) {
        return switch (n.op()) {
            case Conv2d c -> forward(c, n);
            case Conv2dBackwardData d -> backwardData(d, n);
            case Conv2dBackwardFilter f -> backwardFilter(f, n);
            default -> "";
        };
    }

    static String forward(Conv2d c, Node n) {
        Shape x = n.inputs().get(0).shape(), w = n.inputs().get(1).shape(), y = n.outputs().getFirst().shape();
        int channels = x.dim(1), out = w.dim(0), kH = w.dim(2), kW = w.dim(3);
        // 1x1 first: a one-channel 1x1 convolution is also "depthwise", and a plain GEMM serves it better.
        if (oneByOne(kH, kW, c.strideH(), c.strideW(), c.groups(), c.padTop(), c.padLeft(), c.padBottom(), c.padRight()))
            return GEMM_1X1;
        if (DepthwiseConv.applicable(channels, out, c.groups())) return DEPTHWISE;
        if (WinogradKernels.applicable(kH, kW, c.strideH(), c.strideW(), c.dilationH(), c.dilationW(), c.groups()))
            return winograd(channels, out, y.dim(0), y.dim(2), y.dim(3));
        return IM2COL;
    }

    static String backwardData(Conv2dBackwardData d, Node n) {
        Shape dy = n.inputs().get(0).shape(), w = n.inputs().get(1).shape(), dx = n.outputs().getFirst().shape();
        int channels = dx.dim(1), out = w.dim(0), kH = w.dim(2), kW = w.dim(3);
        if (DepthwiseConv.applicable(channels, out, d.groups())) return DEPTHWISE;
        // dx is a 3x3 correlation of dy (O channels in) producing dx (C channels out)
        if (WinogradKernels.applicable(kH, kW, d.strideH(), d.strideW(), d.dilationH(), d.dilationW(), d.groups()))
            return winograd(out, channels, dx.dim(0), dx.dim(2), dx.dim(3));
        return IM2COL;
    }

    static String backwardFilter(Conv2dBackwardFilter f, Node n) {
        Shape x = n.inputs().get(0).shape(), dw = n.outputs().getFirst().shape();
        return DepthwiseConv.applicable(x.dim(1), dw.dim(0), f.groups()) ? DEPTHWISE : IM2COL;
    }

    /**
     * Winograd or im2col for a 3x3 stride-1 correlation with {@code in} input and {@code out} output channels
     * producing {@code batch} maps of {@code h x w} (for the data gradient: dy's channels in, dx's out, dx's size).
     *
     * <p>The rules, from single-thread timings on the 2-core AMD EPYC (AVX2) this was written on, shared with other
     * work at the time, so each number is a median over interleaved rounds and still +-30%; effective GFLOP/s
     * (direct-convolution FLOPs over time), F(2x2) / F(4x4) / im2col+SGEMM baseline:
     * <ul>
     *   <li>Few channels lose: C=3 O=64 56x56 batch 8: 5 / 8 / 16; C=8 O=16: 9 / 14 / 14; C=O=16: 12 / 19 / 14;
     *       C=O=32: 19 / 32 / 16. So Winograd needs both channel counts >= {@value #MIN_CHANNELS}.</li>
     *   <li>From 32 channels on F(4x4) wins by 1.5-3x where it has tiles: ResNet-18 batch 8, 64@56x56: 49 / 73 / 18,
     *       128@28: 69 / 93 / 19, 256@14: 81 / 102 / 20, 512@7: 75 / 102 / 17.</li>
     *   <li>F(4x4) needs tiles: each of its 36 GEMMs has one column per tile, and fewer than 16 (the GEMM's
     *       micro-tile width) waste the rest: 512@7x7 batch 1 (4 tiles of 4x4, 16 of 2x2): 65-90 / 31-37; 64@7x7:
     *       27 / 16 / 28. The choice compares the GEMM work, 36 max(T4, 16) against 16 max(T2, 16) for T4, T2
     *       the tiles of each: F(4x4) for 14x14 and up at batch 1, and for 7x7 from batch 3.</li>
     *   <li>Fewer than {@value #MIN_TILES} tiles of 2x2 (maps under about 8x8 at batch 1): im2col, nothing to
     *       win on a problem that small (16@14x14, 32@7x7: all three within 20%).</li>
     * </ul>
     */
    static String winograd(int in, int out, int batch, int h, int w) {
        if (in < MIN_CHANNELS || out < MIN_CHANNELS) return IM2COL;
        long t2 = (long) batch * Math.ceilDiv(h, 2) * Math.ceilDiv(w, 2);
        long t4 = (long) batch * Math.ceilDiv(h, 4) * Math.ceilDiv(w, 4);
        if (t2 < MIN_TILES) return IM2COL;
        return 36 * Math.max(t4, MIN_TILES) <= 16 * Math.max(t2, MIN_TILES) ? WINOGRAD_F4 : WINOGRAD_F2;
    }

    static final int MIN_CHANNELS = 16;
    static final int MIN_TILES = 16;

    private static boolean oneByOne(int kH, int kW, int sH, int sW, int groups, int pt, int pl, int pb, int pr) {
        return kH == 1 && kW == 1 && sH == 1 && sW == 1 && groups == 1 && pt == 0 && pl == 0 && pb == 0 && pr == 0;
    }

    /** Every algorithm that computes node {@code n}: what {@link Autotuner} measures. Empty for other ops. */
    static List<String> candidates(Node n) {
        List<String> c = new ArrayList<>();
        switch (n.op()) {
            case Conv2d op -> {
                Shape x = n.inputs().get(0).shape(), w = n.inputs().get(1).shape();
                c.add(IM2COL);
                if (oneByOne(w.dim(2), w.dim(3), op.strideH(), op.strideW(), op.groups(), op.padTop(), op.padLeft(),
                        op.padBottom(), op.padRight())) c.add(GEMM_1X1);
                if (DepthwiseConv.applicable(x.dim(1), w.dim(0), op.groups())) c.add(DEPTHWISE);
                if (WinogradKernels.applicable(w.dim(2), w.dim(3), op.strideH(), op.strideW(), op.dilationH(),
                        op.dilationW(), op.groups())) {
                    c.add(WINOGRAD_F2);
                    c.add(WINOGRAD_F4);
                }
            }
            case Conv2dBackwardData op -> {
                Shape w = n.inputs().get(1).shape(), dx = n.outputs().getFirst().shape();
                c.add(IM2COL);
                if (DepthwiseConv.applicable(dx.dim(1), w.dim(0), op.groups())) c.add(DEPTHWISE);
                if (WinogradKernels.applicable(w.dim(2), w.dim(3), op.strideH(), op.strideW(), op.dilationH(),
                        op.dilationW(), op.groups())) {
                    c.add(WINOGRAD_F2);
                    c.add(WINOGRAD_F4);
                }
            }
            case Conv2dBackwardFilter op -> {
                Shape x = n.inputs().get(0).shape(), dw = n.outputs().getFirst().shape();
                c.add(IM2COL);
                if (DepthwiseConv.applicable(x.dim(1), dw.dim(0), op.groups())) c.add(DEPTHWISE);
            }
            default -> { }
        }
        return c;
    }
}
