package dev.stride.onnx;

import dev.stride.graph.Value;
import dev.stride.graph.op.AdaptiveAvgPool2d;
import dev.stride.graph.op.AvgPool2d;
import dev.stride.graph.op.LpPool2d;
import dev.stride.graph.op.MaxPool2d;
import dev.stride.graph.op.Pad;
import dev.stride.graph.op.ReduceMean;

import java.util.Arrays;
import java.util.Map;

/**
 * MaxPool, AveragePool, LpPool (2-D and 1-D), GlobalAveragePool, GlobalMaxPool and GlobalLpPool. The IR's max and
 * average pooling follow PyTorch, whose
 * rules ONNX's reference shares (ceil mode drops a last window that would start in the end padding; a
 * count_include_pad window is clipped at the end of the padded input), with PyTorch's limit pad <= kernel/2.
 */
final class PoolOps {
    private PoolOps() {}

    static void register(Map<String, OpSpec> t) {
        t.put("MaxPool", new OpSpec(c -> pool(c, true), OpSpec.StaticInputs.NONE));
        t.put("AveragePool", new OpSpec(c -> pool(c, false), OpSpec.StaticInputs.NONE));
        t.put("GlobalAveragePool", new OpSpec(c -> global(c, false), OpSpec.StaticInputs.NONE));
        t.put("GlobalMaxPool", new OpSpec(c -> global(c, true), OpSpec.StaticInputs.NONE));
        t.put("LpPool", new OpSpec(PoolOps::lpPool, OpSpec.StaticInputs.NONE));
        t.put("GlobalLpPool", new OpSpec(PoolOps::globalLp, OpSpec.StaticInputs.NONE));
    }

    /** p: a float attribute in version 1, an integer from version 2; default 2. */
    private static double lpExponent(NodeContext c) {
        double p = c.opset < 2 ? c.attrFloat("p", 2) : c.attrInt("p", 2);
        if (!(p >= 1) || Double.isInfinite(p))
            throw c.unsupported("p = %s: the IR's Lp pooling needs a finite p >= 1", p);
        return p;
    }

    /**
     * LpPool onto LpPool2d: (sum of |x|^p over the window)^(1/p), padding counting as zeros (ONNX's reference is
     * an average pool of |x|^p with count_include_pad times the window size), so any padding is exact. Dilations
     * and ceil_mode from version 18.
     */
    private static void lpPool(NodeContext c) {
        ElementwiseOps.requireFloat(c, 0);
        long[] x = c.dims(0);
        if (x.length < 3) throw c.invalid("input %s must be [N, C, spatial...]", Arrays.toString(x));
        Spatial.require2d(c, x.length - 2, "Lp pooling");
        double p = lpExponent(c);
        Spatial sp = Spatial.read(c, Arrays.copyOfRange(x, 2, x.length), null, c.opset >= 18);
        boolean ceil = c.opset >= 18 && c.attrInt("ceil_mode", 0) != 0;
        if (!sp.autoPad().equals("NOTSET") && !sp.autoPad().isEmpty()) ceil = false;   // auto_pad fixes the size
        int[] k = sp.k2(c), s = sp.s2(c), d = sp.d2(c), b = sp.begin2(c), e = sp.end2(c);
        boolean oneD = x.length == 3;
        Value y = c.apply(oneD ? "pool2d" : null, new LpPool2d(p, k[0], k[1], s[0], s[1], b[0], b[1], e[0], e[1], d[0],
                d[1], ceil), ConvOps.as2d(c, 0, "input_2d"));
        if (oneD) { int[] yd = y.shape().dims(); y = Lowering.reshapeOut(c, y, yd[0], yd[1], yd[3]); }
        c.output(0, y);
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

    private static void pool(NodeContext c, boolean max) {
        ElementwiseOps.requireFloat(c, 0);
        long[] x = c.dims(0);
        if (x.length < 3) throw c.invalid("input %s must be [N, C, spatial...]", Arrays.toString(x));
        Spatial.require2d(c, x.length - 2, max ? "max pooling" : "average pooling");
        boolean hasDilations = max ? c.opset >= 10 : c.opset >= 19;
        Spatial sp = Spatial.read(c, Arrays.copyOfRange(x, 2, x.length), null, hasDilations);
        boolean ceil = c.opset >= 10 && c.attrInt("ceil_mode", 0) != 0;
        if (!sp.autoPad().equals("NOTSET") && !sp.autoPad().isEmpty()) ceil = false;   // auto_pad fixes the size
        if (max) {
            c.onlyOutputs(1, "the Indices output of MaxPool (int64 argmax positions)");
            if (c.opset >= 8) c.attrInt("storage_order", 0);   // the layout of Indices only
        }
        boolean countPad = !max && c.opset >= 7 && c.attrInt("count_include_pad", 0) != 0;
        int[] k = sp.k2(c), s = sp.s2(c), d = sp.d2(c), b = sp.begin2(c), e = sp.end2(c);
        if (!max && (d[0] != 1 || d[1] != 1))
            throw c.unsupported("dilations %s: the IR's average pooling has no dilation", Arrays.toString(sp.dilations()));
        boolean bigPads = false;
        for (int i = 0; i < 2; i++) bigPads |= b[i] > k[i] / 2 || e[i] > k[i] / 2;
        Value xv = ConvOps.as2d(c, 0, "input_2d");
        if (bigPads) {
            // Pads beyond kernel/2 (PyTorch's limit, which the IR keeps): pad explicitly, with -inf for a max (padding
            // never wins) or 0 for an average that counts the padding, then pool without padding. In floor mode the
            // windows and divisors are the same; ceil mode would keep windows the implicit padding drops.
            if (ceil || !(max || countPad))
                throw c.unsupported("pads %s%s with kernel %s%s: the IR's pooling allows at most kernel/2 padding per "
                        + "side (PyTorch's rule), and explicit padding is exact only in floor mode%s",
                        Arrays.toString(sp.padBegin()), Arrays.toString(sp.padEnd()), Arrays.toString(sp.kernel()),
                        ceil ? " in ceil mode" : "", max ? "" : " with count_include_pad = 1");
            int[] before = {0, 0, b[0], b[1]}, after = {0, 0, e[0], e[1]};
            xv = c.apply("pad", new Pad(before, after, max ? Double.NEGATIVE_INFINITY : 0), xv);
            b = new int[2];
            e = new int[2];
        }
        boolean oneD = x.length == 3;
        String step = oneD ? "pool2d" : null;
        Value y = max
                ? c.apply(step, new MaxPool2d(k[0], k[1], s[0], s[1], b[0], b[1], e[0], e[1], d[0], d[1], ceil), xv)
                : c.apply(step, new AvgPool2d(k[0], k[1], s[0], s[1], b[0], b[1], e[0], e[1], ceil, countPad), xv);
        if (oneD) { int[] yd = y.shape().dims(); y = Lowering.reshapeOut(c, y, yd[0], yd[1], yd[3]); }
        c.output(0, y);
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
