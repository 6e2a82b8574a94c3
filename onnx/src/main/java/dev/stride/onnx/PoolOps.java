package dev.stride.onnx;

import dev.stride.graph.Value;
import dev.stride.graph.op.AdaptiveAvgPool2d;
import dev.stride.graph.op.AvgPool2d;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.LpPool2d;
import dev.stride.graph.op.MaxPool2d;
import dev.stride.graph.op.Pad;
import dev.stride.graph.op.ReduceMean;

import java.util.Arrays;
import java.util.Map;

/**
 * MaxPool, AveragePool, LpPool (1-D, 2-D and 3-D), GlobalAveragePool, GlobalMaxPool and GlobalLpPool. The IR's max
 * and average pooling follow PyTorch, whose rules ONNX's reference shares (ceil mode drops a last window that would
 * start in the end padding; a count_include_pad window is clipped at the end of the padded input), with PyTorch's
 * limit pad <= kernel/2. Average pooling with dilations runs as a depthwise convolution (see Pooling).
 */
final class PoolOps {
    private PoolOps() {}

    static void register(Map<String, OpSpec> t) {
        t.put("MaxPool", new OpSpec(c -> pool(c, Kind.MAX), OpSpec.StaticInputs.NONE));
        t.put("AveragePool", new OpSpec(c -> pool(c, Kind.AVERAGE), OpSpec.StaticInputs.NONE));
        t.put("GlobalAveragePool", new OpSpec(c -> global(c, false), OpSpec.StaticInputs.NONE));
        t.put("GlobalMaxPool", new OpSpec(c -> global(c, true), OpSpec.StaticInputs.NONE));
        t.put("LpPool", new OpSpec(c -> pool(c, Kind.LP), OpSpec.StaticInputs.NONE));
        t.put("GlobalLpPool", new OpSpec(PoolOps::globalLp, OpSpec.StaticInputs.NONE));
    }

    /** p: a float attribute in version 1, an integer from version 2; default 2. */
    private static double lpExponent(NodeContext c) {
        double p = c.opset < 2 ? c.attrFloat("p", 2) : c.attrInt("p", 2);
        if (!(p >= 1) || Double.isInfinite(p))
            throw c.unsupported("p = %s: the IR's Lp pooling needs a finite p >= 1", p);
        return p;
    }

    /** GlobalLpPool: one LpPool2d window over the spatial axes (other ranks through an [N, C, 1, prod] view). */
    private static void globalLp(NodeContext c) {
        ElementwiseOps.requireFloat(c, 0);
        double p = lpExponent(c);
        Value x = c.value(0);
        int[] d = x.shape().dims();
        if (d.length < 3) throw c.invalid("input %s must be [N, C, spatial...]", Arrays.toString(d));
        int h = d.length == 4 ? d[2] : 1, w = Lowering.product(d, d.length == 4 ? 3 : 2, d.length);
        Value v = Lowering.reshape(c, "input_2d", x, d[0], d[1], h, w);
        Value y = c.apply(d.length == 4 ? null : "pool2d", new LpPool2d(p, h, w, 1, 1, 0, 0, 0, 0, 1, 1, false), v);
        int[] out = new int[d.length];
        Arrays.fill(out, 1);
        out[0] = d[0];
        out[1] = d[1];
        c.output(0, Lowering.reshapeOut(c, y, out));
    }

    /** The three windowed reductions. */
    private enum Kind { MAX, AVERAGE, LP }

    /**
     * MaxPool, AveragePool and LpPool over 1, 2 or 3 spatial axes. 1-D runs as 2-D with height 1. 3-D is separable:
     * a max, an average (of the cells a window counts) or an Lp norm over a d x h x w box is that reduction over d
     * of the reductions over h x w, each axis with its own kernel, stride, dilation, padding and ceil rule, so it
     * runs as a 2-D pool of the [N, C*D, H, W] planes followed by a 2-D pool with kernel (kD, 1) of the
     * [N, C, D, H'*W'] columns. LpPool's padding counts as zeros (ONNX's reference is an average pool of |x|^p
     * with count_include_pad, times the window size), so any padding is exact for it.
     */
    private static void pool(NodeContext c, Kind kind) {
        ElementwiseOps.requireFloat(c, 0);
        long[] x = c.dims(0);
        if (x.length < 3) throw c.invalid("input %s must be [N, C, spatial...]", Arrays.toString(x));
        int n = x.length - 2;
        String what = switch (kind) { case MAX -> "max pooling"; case AVERAGE -> "average pooling"; case LP -> "Lp pooling"; };
        if (n > 3) throw c.unsupported("%d-D %s (input rank %d): the IR pools 2-D (1-D and 3-D run as 2-D)", n, what, n + 2);
        double p = kind == Kind.LP ? lpExponent(c) : 0;
        boolean hasDilations = switch (kind) { case MAX -> c.opset >= 10; case AVERAGE -> c.opset >= 19; case LP -> c.opset >= 18; };
        Spatial sp = Spatial.read(c, Arrays.copyOfRange(x, 2, x.length), null, hasDilations);
        boolean ceil = c.opset >= (kind == Kind.LP ? 18 : 10) && c.attrInt("ceil_mode", 0) != 0;
        if (!sp.autoPad().equals("NOTSET") && !sp.autoPad().isEmpty()) ceil = false;   // auto_pad fixes the size
        if (kind == Kind.MAX) {
            c.onlyOutputs(1, "the Indices output of MaxPool (int64 argmax positions)");
            if (c.opset >= 8) c.attrInt("storage_order", 0);   // the layout of Indices only
        }
        boolean countPad = kind == Kind.AVERAGE && c.opset >= 7 && c.attrInt("count_include_pad", 0) != 0;
        Pooling pl = new Pooling(c, kind, p, countPad, ceil);
        if (n == 3) {
            pool3d(c, pl, sp);
            return;
        }
        boolean oneD = n == 1;
        Value y = pl.apply(oneD ? "pool2d" : null, ConvOps.as2d(c, 0, "input_2d"), sp.k2(c), sp.s2(c), sp.d2(c),
                sp.begin2(c), sp.end2(c));
        if (oneD) { int[] yd = y.shape().dims(); y = Lowering.reshapeOut(c, y, yd[0], yd[1], yd[3]); }
        c.output(0, y);
    }

    /** 3-D pooling as two 2-D pools: over (H, W) of every depth slice, then over D (see {@link #pool}). */
    private static void pool3d(NodeContext c, Pooling pl, Spatial sp) {
        int[] k = Lowering.ints(c, sp.kernel()), s = Lowering.ints(c, sp.strides()), d = Lowering.ints(c, sp.dilations()),
                b = Lowering.ints(c, sp.padBegin()), e = Lowering.ints(c, sp.padEnd());
        Value x = c.value(0);
        int[] dims = x.shape().dims();   // N, C, D, H, W
        Value planes = Lowering.reshape(c, "planes", x, dims[0], Math.multiplyExact(dims[1], dims[2]), dims[3], dims[4]);
        Value hw = pl.apply("pool_hw", planes, new int[] {k[1], k[2]}, new int[] {s[1], s[2]}, new int[] {d[1], d[2]},
                new int[] {b[1], b[2]}, new int[] {e[1], e[2]});
        int oh = hw.shape().dim(2), ow = hw.shape().dim(3);
        Value columns = Lowering.reshape(c, "columns", hw, dims[0], dims[1], dims[2], Math.multiplyExact(oh, ow));
        Value y = pl.apply("pool_d", columns, new int[] {k[0], 1}, new int[] {s[0], 1}, new int[] {d[0], 1},
                new int[] {b[0], 0}, new int[] {e[0], 0});
        c.output(0, Lowering.reshapeOut(c, y, dims[0], dims[1], y.shape().dim(2), oh, ow));
    }

    /** One 2-D pool of a node's kind and settings; pads beyond kernel/2 through an explicit Pad where exact. */
    private record Pooling(NodeContext c, Kind kind, double p, boolean countPad, boolean ceil) {
        Value apply(String step, Value x, int[] k, int[] s, int[] d, int[] b, int[] e) {
            if (kind == Kind.AVERAGE && (d[0] != 1 || d[1] != 1)) return dilatedAverage(step, x, k, s, d, b, e);
            if (kind == Kind.LP)
                return c.apply(step, new LpPool2d(p, k[0], k[1], s[0], s[1], b[0], b[1], e[0], e[1], d[0], d[1], ceil), x);
            boolean bigPads = false;
            for (int i = 0; i < 2; i++) bigPads |= b[i] > k[i] / 2 || e[i] > k[i] / 2;
            if (!bigPads) return pool(step, x, k, s, d, b, e);
            // Pads beyond kernel/2 (PyTorch's limit, which the IR keeps): pad explicitly, with -inf for a max (padding
            // never wins) or 0 for an average, then pool without padding. In floor mode the windows are the same
            // (ceil mode would keep windows the implicit padding drops); an average that does not count the padding
            // is then rescaled per output cell by window size / real cells, a constant of the geometry.
            if (ceil)
                throw c.unsupported("pads %s%s with kernel %s in ceil mode: the IR's pooling allows at most kernel/2 "
                        + "padding per side (PyTorch's rule), and explicit padding is exact only in floor mode",
                        Arrays.toString(b), Arrays.toString(e), Arrays.toString(k));
            int[] dims = x.shape().dims();
            int[] before = {0, 0, b[0], b[1]}, after = {0, 0, e[0], e[1]};
            Value padded = c.apply(step == null ? "pad" : step + "_pad",
                    new Pad(before, after, kind == Kind.MAX ? Double.NEGATIVE_INFINITY : 0), x);
            if (kind == Kind.MAX || countPad) return pool(step, padded, k, s, d, new int[2], new int[2]);
            Value sum = new Pooling(c, kind, p, true, false).pool(step == null ? "pool" : step + "_pool", padded, k, s,
                    d, new int[2], new int[2]);
            int oh = sum.shape().dim(2), ow = sum.shape().dim(3);
            int[] ch = realCells(dims[2], oh, k[0], s[0], b[0]), cw = realCells(dims[3], ow, k[1], s[1], b[1]);
            double[] scale = new double[oh * ow];
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    if (ch[i] == 0 || cw[j] == 0)
                        throw c.unsupported("pads %s%s with kernel %s: output cell (%d, %d) has a window wholly in the "
                                + "padding (an average of no cells)", Arrays.toString(b), Arrays.toString(e),
                                Arrays.toString(k), i, j);
                    scale[i * ow + j] = (double) k[0] * k[1] / ((double) ch[i] * cw[j]);
                }
            Value factor = c.imp.param(ConstTensor.ofReals(c.imp.floatType, new long[] {oh, ow}, scale,
                    c.outName(0) + "/real_cells"), c.where());
            return c.apply(step, new Binary(Binary.Kind.MUL), sum, factor);
        }

        private Value pool(String step, Value x, int[] k, int[] s, int[] d, int[] b, int[] e) {
            return kind == Kind.MAX
                    ? c.apply(step, new MaxPool2d(k[0], k[1], s[0], s[1], b[0], b[1], e[0], e[1], d[0], d[1], ceil), x)
                    : c.apply(step, new AvgPool2d(k[0], k[1], s[0], s[1], b[0], b[1], e[0], e[1], ceil, countPad), x);
        }

        /**
         * Average pooling with dilations, which the IR's AvgPool2d lacks: a depthwise convolution with weights 1 (the
         * window sums) times a constant per output cell, 1 / the divisor. The geometry is ONNX's reference's: the
         * output size with its ceil rule (a last window must start inside the input or the front padding), the
         * extra cells ceil mode needs split as extra/2 in front and the rest behind, and as divisor the window's
         * cells inside the input and, with count_include_pad, inside the given pads (not the extra cells: ONNX's
         * expected outputs count those out); a window with none gives NaN, as there.
         */
        private Value dilatedAverage(String step, Value x, int[] k, int[] s, int[] d, int[] b, int[] e) {
            int[] dims = x.shape().dims();
            int[][] counts = new int[2][];
            int[] pb = new int[2], pe = new int[2];
            for (int a = 0; a < 2; a++) {
                int in = dims[2 + a], window = (k[a] - 1) * d[a] + 1;
                double size = (double) (in + b[a] + e[a] - window) / s[a] + 1;
                int out = (int) (ceil ? Math.ceil(size) : Math.floor(size));
                if (ceil && (long) (out - 1) * s[a] >= in + b[a]) out--;
                if (out < 1)
                    throw c.invalid("pooled size %d on spatial axis %d (input %d, kernel %d, dilation %d, pads %d + %d)",
                            out, a, in, k[a], d[a], b[a], e[a]);
                int extra = Math.max(0, (out - 1) * s[a] + window - in - b[a] - e[a]);
                pb[a] = b[a] + extra / 2;
                pe[a] = e[a] + extra - extra / 2;
                counts[a] = new int[out];
                for (int o = 0; o < out; o++)
                    for (int j = 0; j < k[a]; j++) {
                        int i = o * s[a] + j * d[a] - pb[a];
                        if (countPad ? i >= -b[a] && i < in + e[a] : i >= 0 && i < in) counts[a][o]++;
                    }
            }
            int channels = dims[1], oh = counts[0].length, ow = counts[1].length;
            Value ones = c.imp.param(ConstTensor.fill(c.imp.floatType, new long[] {channels, 1, k[0], k[1]}, 1,
                    c.outName(0) + "/window"), c.where());
            Value sum = c.apply(step == null ? "window_sum" : step + "_sum",
                    new Conv2d(s[0], s[1], pb[0], pb[1], pe[0], pe[1], d[0], d[1], channels), x, ones);
            double[] scale = new double[oh * ow];
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    double divisor = (double) counts[0][i] * counts[1][j];
                    scale[i * ow + j] = divisor == 0 ? Double.NaN : 1 / divisor;
                }
            Value factor = c.imp.param(ConstTensor.ofReals(c.imp.floatType, new long[] {oh, ow}, scale,
                    c.outName(0) + "/divisor"), c.where());
            return c.apply(step, new Binary(Binary.Kind.MUL), sum, factor);
        }

        /** Per output index along an axis (no dilation): how many of the window's k cells lie in [0, in). */
        private static int[] realCells(int in, int out, int k, int stride, int padBegin) {
            int[] n = new int[out];
            for (int o = 0; o < out; o++) {
                int start = o * stride - padBegin;
                n[o] = Math.max(0, Math.min(start + k, in) - Math.max(start, 0));
            }
            return n;
        }
    }

    /** Over every spatial axis: 2-D directly, other ranks through an [N, C, 1, prod] view. */
    private static void global(NodeContext c, boolean max) {
        ElementwiseOps.requireFloat(c, 0);
        Value x = c.value(0);
        int[] d = x.shape().dims();
        if (d.length < 3) throw c.invalid("input %s must be [N, C, spatial...]", Arrays.toString(d));
        if (d.length == 4 && !max) {
            c.output(0, c.apply(null, new AdaptiveAvgPool2d(1, 1), x));
            return;
        }
        if (d.length > 4 && !max) {   // a mean over the trailing axes, no reshape needed
            int[] axes = new int[d.length - 2];
            for (int i = 0; i < axes.length; i++) axes[i] = i + 2;
            c.output(0, c.apply(null, new ReduceMean(axes, true), x));
            return;
        }
        int h = d.length == 4 ? d[2] : 1, w = Lowering.product(d, d.length == 4 ? 3 : 2, d.length);
        Value v = Lowering.reshape(c, "input_2d", x, d[0], d[1], h, w);
        Value y = max ? c.apply(d.length == 4 ? null : "pool2d", new MaxPool2d(h, w, 1, 1, 0, 0, 0, 0, 1, 1, false), v)
                : c.apply("pool2d", new AdaptiveAvgPool2d(1, 1), v);
        int[] out = new int[d.length];
        Arrays.fill(out, 1);
        out[0] = d[0];
        out[1] = d[1];
        c.output(0, Lowering.reshapeOut(c, y, out));
    }
}
