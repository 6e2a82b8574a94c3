package dev.stride.graph;

import dev.stride.graph.op.AdaptiveAvgPool2d;
import dev.stride.graph.op.AvgPool2d;
import dev.stride.graph.op.Concat;
import dev.stride.graph.op.Gather;
import dev.stride.graph.op.LpPool2d;
import dev.stride.graph.op.MaxPool2d;
import dev.stride.graph.op.Pad;
import dev.stride.graph.op.Resize2d;
import dev.stride.graph.op.Slice;
import dev.stride.graph.op.Upsample2d;

/**
 * Builder DSL for pooling, resizing, padding, slicing, gathering and concatenation (see {@link DslBase}).
 * Spatial ops take NCHW; pad, slice, gather and concat take any rank.
 */
public interface PoolDsl extends DslBase {
    /** Square max pool, no padding, floor mode. */
    default Value maxPool2d(Value x, int kernel, int stride) {
        return maxPool2d(x, PoolSpec.of(kernel).stride(stride));
    }

    /** Max pool with every option; {@code countIncludePad} is ignored (padding never wins a max). */
    default Value maxPool2d(Value x, PoolSpec p) {
        return apply("maxpool", new MaxPool2d(p.kH(), p.kW(), p.strideH(), p.strideW(), p.padTop(), p.padLeft(),
                p.padBottom(), p.padRight(), p.dilationH(), p.dilationW(), p.ceilMode()), x);
    }

    /** Square average pool, no padding, floor mode. */
    default Value avgPool2d(Value x, int kernel, int stride) {
        return avgPool2d(x, PoolSpec.of(kernel).stride(stride));
    }

    /** Average pool; dilation must be 1 (PyTorch's average pool has none). */
    default Value avgPool2d(Value x, PoolSpec p) {
        if (p.dilationH() != 1 || p.dilationW() != 1)
            throw new GraphException("avgPool2d has no dilation (max pool only), got dilationH = " + p.dilationH()
                    + ", dilationW = " + p.dilationW());
        return apply("avgpool", new AvgPool2d(p.kH(), p.kW(), p.strideH(), p.strideW(), p.padTop(), p.padLeft(),
                p.padBottom(), p.padRight(), p.ceilMode(), p.countIncludePad()), x);
    }

    /** Averages into an {@code outH x outW} grid with PyTorch's (possibly overlapping) bins. */
    default Value adaptiveAvgPool2d(Value x, int outH, int outW) {
        return apply("adaptive_avgpool", new AdaptiveAvgPool2d(outH, outW), x);
    }

    /** Mean over each channel's plane: [N, C, H, W] to [N, C, 1, 1]. */
    default Value globalAvgPool(Value x) {
        return apply("global_avgpool", new AdaptiveAvgPool2d(1, 1), x);
    }

    /** Nearest-neighbour upsampling by an integer factor: every pixel becomes a {@code scale x scale} block. */
    default Value upsampleNearest(Value x, int scale) {
        if (x.shape().rank() != 4)
            throw new GraphException("upsampleNearest needs a 4-D [N, C, H, W] input, got " + x.shape());
        if (scale < 1) throw new GraphException("upsampleNearest scale must be >= 1, got " + scale);
        long oh = (long) x.shape().dim(2) * scale, ow = (long) x.shape().dim(3) * scale;
        if (oh > Integer.MAX_VALUE || ow > Integer.MAX_VALUE)
            throw new GraphException("upsampleNearest: " + x.shape() + " times " + scale + " overflows an int");
        return apply("upsample", new Upsample2d(Upsample2d.Mode.NEAREST, (int) oh, (int) ow, false), x);
    }

    /** Resizes to {@code outH x outW}; {@code alignCorners} must be false for NEAREST, as in PyTorch. */
    default Value upsample(Value x, Upsample2d.Mode mode, int outH, int outW, boolean alignCorners) {
        return apply("upsample", new Upsample2d(mode, outH, outW, alignCorners), x);
    }

    /**
     * ONNX Resize of H and W given output sizes: the scales are outH / H and outW / W. {@code nearest} only
     * matters for {@link Resize2d.Mode#NEAREST}.
     */
    default Value resize(Value x, Resize2d.Mode mode, Resize2d.Coord coord, Resize2d.Nearest nearest,
                         int outH, int outW) {
        requireNchw(x, "resize");
        return apply("resize", new Resize2d(mode, coord, nearest, outH, outW,
                (double) outH / x.shape().dim(2), (double) outW / x.shape().dim(3)), x);
    }

    /** ONNX Resize of H and W given scales: the output is floor(H * scaleH) x floor(W * scaleW). */
    default Value resizeByScales(Value x, Resize2d.Mode mode, Resize2d.Coord coord, Resize2d.Nearest nearest,
                                 double scaleH, double scaleW) {
        requireNchw(x, "resizeByScales");
        double oh = Math.floor(x.shape().dim(2) * scaleH), ow = Math.floor(x.shape().dim(3) * scaleW);
        if (!(oh >= 1 && ow >= 1 && oh <= Integer.MAX_VALUE && ow <= Integer.MAX_VALUE))
            throw new GraphException("resizeByScales: " + x.shape() + " with scales " + scaleH + ", " + scaleW
                    + " gives output " + oh + " x " + ow + ", must be between 1 and " + Integer.MAX_VALUE);
        return apply("resize", new Resize2d(mode, coord, nearest, (int) oh, (int) ow, scaleH, scaleW), x);
    }

    /** L2 pooling (ONNX LpPool's default p = 2). */
    default Value lpPool2d(Value x, PoolSpec s) { return lpPool2d(x, 2, s); }

    /**
     * Lp pooling, ONNX LpPool: (sum of |x|^p over each window)^(1/p), padding counting as 0, so pads may exceed
     * kernel/2; {@code countIncludePad} is ignored.
     */
    default Value lpPool2d(Value x, double p, PoolSpec s) {
        return apply("lppool", new LpPool2d(p, s.kH(), s.kW(), s.strideH(), s.strideW(), s.padTop(), s.padLeft(),
                s.padBottom(), s.padRight(), s.dilationH(), s.dilationW(), s.ceilMode()), x);
    }

    /** Zero padding of the last two (spatial) dimensions. */
    default Value zeroPad2d(Value x, int top, int left, int bottom, int right) {
        int r = x.shape().rank();
        if (r < 2) throw new GraphException("zeroPad2d needs rank >= 2, got " + x.shape());
        int[] before = new int[r], after = new int[r];
        before[r - 2] = top;
        before[r - 1] = left;
        after[r - 2] = bottom;
        after[r - 1] = right;
        return apply("zeropad", new Pad(before, after, 0.0), x);
    }

    /** Constant padding of any rank: one {@code before} and {@code after} entry per dimension. */
    default Value pad(Value x, int[] before, int[] after, double value) {
        return apply("pad", new Pad(before.clone(), after.clone(), value), x);
    }

    /** Padding of any rank in {@code mode}; REFLECT, EDGE and WRAP copy the tensor's own cells. */
    default Value pad(Value x, int[] before, int[] after, Pad.Mode mode) {
        return apply("pad", new Pad(before.clone(), after.clone(), 0.0, mode), x);
    }

    /** {@code x[..., start:end, ...]} along {@code axis} (negative counts from the end), other axes whole. */
    default Value slice(Value x, int axis, int start, int end) {
        int a = normaliseAxis(axis, x.shape().rank(), "slice");
        int[] starts = new int[x.shape().rank()], ends = x.shape().dims();
        starts[a] = start;
        ends[a] = end;
        return apply("slice", new Slice(starts, ends), x);
    }

    /** ONNX Gather of 1-D constant {@code indices} along {@code axis}; negative axis and indices count from the end. */
    default Value gather(Value x, int axis, long... indices) {
        return gather(x, axis, indices, new int[] {indices.length});
    }

    /**
     * ONNX Gather of constant indices laid out as {@code indicesShape}: the output shape is
     * x.shape[:axis] + indicesShape + x.shape[axis+1:], so scalar indices (shape []) drop the axis.
     */
    default Value gather(Value x, int axis, long[] indices, int[] indicesShape) {
        return apply("gather", new Gather(axis, indices.clone(), indicesShape.clone()), x);
    }

    /** Joins {@code xs} along {@code axis} (negative counts from the end of the first input's rank). */
    default Value concat(int axis, Value... xs) {
        if (xs.length == 0) throw new GraphException("concat needs at least one input");
        return apply("concat", new Concat(normaliseAxis(axis, xs[0].shape().rank(), "concat")), xs);
    }

    private static void requireNchw(Value x, String what) {
        if (x.shape().rank() != 4) throw new GraphException(what + " needs a 4-D [N, C, H, W] input, got " + x.shape());
    }

    private static int normaliseAxis(int axis, int rank, String what) {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
            throw new GraphException(what + ": axis " + axis + " out of range for rank " + rank);
        return a;
    }
}
