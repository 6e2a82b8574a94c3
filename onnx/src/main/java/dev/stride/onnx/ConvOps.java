package dev.stride.onnx;

import dev.stride.graph.Value;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.ConvTranspose2d;

import java.util.Arrays;
import java.util.Map;

/** Conv and ConvTranspose, 2-D and 1-D (as 2-D with height 1). */
final class ConvOps {
    private ConvOps() {}

    static void register(Map<String, OpSpec> t) {
        t.put("Conv", new OpSpec(ConvOps::conv, OpSpec.StaticInputs.NONE));
        t.put("ConvTranspose", new OpSpec(ConvOps::convTranspose, OpSpec.StaticInputs.NONE));
    }

    /** Input i, a weight or activation of rank 3, as rank 4 with a height of 1 (a constant reshaped for free). */
    static Value as2d(NodeContext c, int i, String step) {
        long[] d = c.dims(i);
        if (d.length != 3) return c.value(i);
        long[] d4 = {d[0], d[1], 1, d[2]};
        if (c.isConst(i)) {
            ConstTensor k = c.constant(i);
            return c.imp.param(k.reshape(d4, k.name), c.where());
        }
        return Lowering.reshape(c, step, c.value(i), Lowering.ints(c, d4));
    }

    private static void conv(NodeContext c) {
        ElementwiseOps.requireFloat(c, 0);
        ElementwiseOps.requireFloat(c, 1);
        long[] x = c.dims(0), w = c.dims(1);
        if (x.length < 3) throw c.invalid("input %s must be [N, C, spatial...]", Arrays.toString(x));
        Spatial.require2d(c, x.length - 2, "convolution");
        if (w.length != x.length) throw c.invalid("weight %s must have the input's rank %d", Arrays.toString(w), x.length);
        Spatial sp = Spatial.read(c, Arrays.copyOfRange(x, 2, x.length), Arrays.copyOfRange(w, 2, w.length), true);
        int group = c.attrInt32("group", 1);
        c.ignore("consumed_inputs");
        int[] s = sp.s2(c), d = sp.d2(c), b = sp.begin2(c), e = sp.end2(c);
        Value xv = as2d(c, 0, "input_2d"), wv = as2d(c, 1, "weight_2d");
        Value bias = c.has(2) ? c.value(2) : null;
        Conv2d op = new Conv2d(s[0], s[1], b[0], b[1], e[0], e[1], d[0], d[1], group);
        boolean oneD = x.length == 3;
        Value y = bias == null ? c.apply(oneD ? "conv2d" : null, op, xv, wv) : c.apply(oneD ? "conv2d" : null, op, xv, wv, bias);
        if (oneD) { int[] yd = y.shape().dims(); y = Lowering.reshapeOut(c, y, yd[0], yd[1], yd[3]); }
        c.output(0, y);
    }

    /**
     * ONNX's output size is stride*(in-1) + output_padding + (k-1)*dilation + 1 - pads, the IR's formula. With
     * output_shape (or SAME auto_pad, which asks for in*stride) the pads follow from the total
     * natural - wanted, split as the spec says (SAME_UPPER: the odd cell at the end; otherwise at the start);
     * a negative total (more output than the kernel covers) becomes extra output padding at the end.
     */
    private static void convTranspose(NodeContext c) {
        ElementwiseOps.requireFloat(c, 0);
        ElementwiseOps.requireFloat(c, 1);
        long[] x = c.dims(0), w = c.dims(1);
        if (x.length < 3) throw c.invalid("input %s must be [N, C, spatial...]", Arrays.toString(x));
        Spatial.require2d(c, x.length - 2, "transposed convolution");
        if (w.length != x.length) throw c.invalid("weight %s must have the input's rank %d", Arrays.toString(w), x.length);
        int n = x.length - 2;
        long[] in = Arrays.copyOfRange(x, 2, x.length);
        long[] outShape = c.attrInts("output_shape", null);
        String autoPad = c.attrString("auto_pad", "NOTSET");
        Spatial sp = Spatial.read(c, in, Arrays.copyOfRange(w, 2, w.length), true);
        long[] op = c.attrInts("output_padding", new long[n]);
        Spatial.requireLength(c, "output_padding", op, n);
        int group = c.attrInt32("group", 1);
        long[] b = sp.padBegin().clone(), e = sp.padEnd().clone(), extra = new long[n];
        boolean same = autoPad.equals("SAME_UPPER") || autoPad.equals("SAME_LOWER");
        if (outShape != null || same) {
            if (outShape != null && outShape.length == n + 2) outShape = Arrays.copyOfRange(outShape, 2, n + 2);
            if (outShape != null) Spatial.requireLength(c, "output_shape", outShape, n);
            for (int i = 0; i < n; i++) {
                long want = outShape != null ? outShape[i] : in[i] * sp.strides()[i];
                long natural = sp.strides()[i] * (in[i] - 1) + op[i] + (sp.kernel()[i] - 1) * sp.dilations()[i] + 1;
                long total = natural - want;
                long half = Math.floorDiv(total, 2);
                b[i] = autoPad.equals("SAME_UPPER") ? half : total - half;
                e[i] = autoPad.equals("SAME_UPPER") ? total - half : half;
                if (b[i] < 0) throw c.unsupported("output_shape %s puts %d extra cells before the output on axis %d: "
                        + "the IR pads transposed convolutions at the end only", Arrays.toString(outShape), -b[i], i);
                if (e[i] < 0) { extra[i] = -e[i]; e[i] = 0; }
            }
        }
        long[] opTotal = new long[n];
        for (int i = 0; i < n; i++) {
            opTotal[i] = op[i] + extra[i];
            if (opTotal[i] < 0) throw c.invalid("output_padding %s must be >= 0", Arrays.toString(op));
            if (opTotal[i] >= sp.strides()[i] && opTotal[i] >= sp.dilations()[i])
                throw c.unsupported("output padding %d on axis %d is not below the stride %d or the dilation %d (the "
                        + "IR's rule)", opTotal[i], i, sp.strides()[i], sp.dilations()[i]);
        }
        Spatial resolved = new Spatial(n, sp.kernel(), sp.strides(), sp.dilations(), b, e, autoPad);
        int[] s = resolved.s2(c), d = resolved.d2(c), pb = resolved.begin2(c), pe = resolved.end2(c);
        int[] o = Lowering.ints(c, n == 1 ? new long[] {0, opTotal[0]} : opTotal);
        Value xv = as2d(c, 0, "input_2d"), wv = as2d(c, 1, "weight_2d");
        Value bias = c.has(2) ? c.value(2) : null;
        ConvTranspose2d ct = new ConvTranspose2d(s[0], s[1], pb[0], pb[1], pe[0], pe[1], o[0], o[1], d[0], d[1], group);
        boolean oneD = n == 1;
        Value y = bias == null ? c.apply(oneD ? "conv_transpose2d" : null, ct, xv, wv)
                : c.apply(oneD ? "conv_transpose2d" : null, ct, xv, wv, bias);
        if (oneD) { int[] yd = y.shape().dims(); y = Lowering.reshapeOut(c, y, yd[0], yd[1], yd[3]); }
        c.output(0, y);
    }
}
