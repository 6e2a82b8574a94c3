package dev.stride.graph.op;

import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;

/**
 * The window arithmetic shared by the 2-D pooling ops and their gradients, with PyTorch's rules, so that the
 * forward op, its backward op and a plan loaded from disk all agree on one formula and one message.
 */
final class PoolGeometry {
    private PoolGeometry() {}

    /** Requires an NCHW input. */
    static void requireNchw(Shape s, String what) {
        ShapeException.require(s.rank() == 4, "%s must be 4-D [N, C, H, W], got rank %d %s", what, s.rank(), s);
    }

    /**
     * Checks the attributes of one spatial axis: kernel, stride and dilation >= 1, pads >= 0 and, as PyTorch
     * requires, each pad <= kernel/2 (larger pads would make windows that lie mostly or wholly in padding).
     */
    static void checkAxis(String axis, int k, int s, int pBefore, int pAfter, int d) {
        checkWindow(axis, k, s, pBefore, pAfter, d);
        String kn = "k" + axis;
        String before = axis.equals("H") ? "padTop" : "padLeft", after = axis.equals("H") ? "padBottom" : "padRight";
        ShapeException.require(pBefore <= k / 2 && pAfter <= k / 2,
                "padding must be <= %s/2 (PyTorch rule pad <= kernel/2), got %s = %d, %s = %d with %s/2 = %d",
                kn, before, pBefore, after, pAfter, kn, k / 2);
    }

    /** {@link #checkAxis} without the pad <= kernel/2 rule, for pools whose padding is harmless (LpPool2d). */
    static void checkWindow(String axis, int k, int s, int pBefore, int pAfter, int d) {
        ShapeException.require(k >= 1, "kernel size %s = %d must be >= 1", "k" + axis, k);
        ShapeException.require(s >= 1, "%s = %d must be >= 1", "stride" + axis, s);
        ShapeException.require(d >= 1, "%s = %d must be >= 1", "dilation" + axis, d);
        String before = axis.equals("H") ? "padTop" : "padLeft", after = axis.equals("H") ? "padBottom" : "padRight";
        ShapeException.require(pBefore >= 0 && pAfter >= 0, "padding must be >= 0, got %s = %d, %s = %d",
                before, pBefore, after, pAfter);
    }

    /**
     * Output size along one axis, PyTorch's {@code pooling_output_shape_pad_lr}:
     * {@code floor_or_ceil((in + pBefore + pAfter - d*(k-1) - 1) / s) + 1}, and in ceil mode the last window
     * must start inside the input or the leading padding: if {@code (out-1)*s >= in + pBefore} then out - 1.
     * Throws unless the result is >= 1.
     */
    static int outSize(String axis, int in, int k, int s, int pBefore, int pAfter, int d, boolean ceil) {
        String dimName = axis.equals("H") ? "height" : "width";
        String before = axis.equals("H") ? "padTop" : "padLeft", after = axis.equals("H") ? "padBottom" : "padRight";
        long num = (long) in + pBefore + pAfter - (long) d * (k - 1) - 1;
        long out = (ceil ? Math.ceilDiv(num, s) : Math.floorDiv(num, s)) + 1;
        String rule = String.format("output %s = %s((%s + %s + %s - dilation%s*(k%s-1) - 1)/stride%s) + 1 = "
                        + "%s((%d + %d + %d - %d*(%d-1) - 1)/%d) + 1 = %d",
                dimName, ceil ? "ceil" : "floor", axis, before, after, axis, axis, axis,
                ceil ? "ceil" : "floor", in, pBefore, pAfter, d, k, s, out);
        if (ceil && out >= 1 && (out - 1) * s >= (long) in + pBefore) {
            out--;
            rule += String.format(", minus 1 because the last window would start at %d >= %s + %s = %d (ceil mode),"
                    + " = %d", (out) * s, axis, before, in + pBefore, out);
        }
        ShapeException.require(out >= 1, "%s, must be >= 1", rule);
        return Math.toIntExact(out);
    }

    /**
     * With dilation a window's taps can straddle the whole input and all land in padding (for instance H = 1,
     * pads 1, k = 2, dilation 2). PyTorch then outputs -inf; we refuse such a configuration instead, since it
     * would poison everything downstream.
     */
    static void requireWindowsTouchInput(String axis, int in, int out, int k, int s, int pBefore, int d) {
        for (int o = 0; o < out; o++) {
            long start = (long) o * s - pBefore;
            long j0 = start >= 0 ? 0 : Math.ceilDiv(-start, d);      // first tap at a row >= 0
            boolean touches = j0 < k && start + j0 * d < in;
            ShapeException.require(touches, "max pool window %d along %s covers only padding: taps at %d + j*%d "
                    + "for j in [0, %d) miss the input range [0, %d)", o, axis, start, d, k, in);
        }
    }
}
