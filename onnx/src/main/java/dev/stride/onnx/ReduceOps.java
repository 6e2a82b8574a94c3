package dev.stride.onnx;

import dev.stride.graph.Value;
import dev.stride.graph.op.ReduceMean;
import dev.stride.graph.op.ReduceSum;

import java.util.Map;

/** ReduceSum and ReduceMean: axes as an attribute (ReduceSum before 13, ReduceMean before 18) or as an input. */
final class ReduceOps {
    private ReduceOps() {}

    static void register(Map<String, OpSpec> t) {
        t.put("ReduceSum", new OpSpec(c -> reduce(c, false, 13), OpSpec.StaticInputs.from(13, 1)));
        t.put("ReduceMean", new OpSpec(c -> reduce(c, true, 18), OpSpec.StaticInputs.from(18, 1)));
    }

    private static void reduce(NodeContext c, boolean mean, int axesInputSince) {
        ElementwiseOps.requireFloat(c, 0);
        boolean keep = c.attrInt("keepdims", 1) != 0;
        long[] axes;
        boolean noop = false;
        if (c.opset < axesInputSince) {
            axes = c.attrInts("axes", null);
        } else {
            axes = c.has(1) ? c.ints(1) : null;
            noop = c.attrInt("noop_with_empty_axes", 0) != 0;
        }
        Value x = c.value(0);
        int r = x.shape().rank();
        if (axes == null || axes.length == 0) {
            if (noop) {   // the input unchanged
                c.output(0, x);
                return;
            }
            axes = new long[r];
            for (int i = 0; i < r; i++) axes[i] = i;
        }
        int[] ax = new int[axes.length];
        boolean[] seen = new boolean[r];
        for (int i = 0; i < ax.length; i++) {
            ax[i] = c.axis(axes[i], r, "axis");
            if (seen[ax[i]]) throw c.invalid("axis %d appears twice", ax[i]);
            seen[ax[i]] = true;
        }
        if (ax.length == 0) {   // a scalar reduced over no axes is itself
            c.output(0, x);
            return;
        }
        c.output(0, c.apply(null, mean ? new ReduceMean(ax, keep) : new ReduceSum(ax, keep), x));
    }
}
