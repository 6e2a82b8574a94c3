package dev.stride.onnx;

import dev.stride.graph.Op;
import dev.stride.graph.Value;
import dev.stride.graph.op.ReduceMax;
import dev.stride.graph.op.ReduceMean;
import dev.stride.graph.op.ReduceSum;
import dev.stride.graph.op.Unary;

import java.util.Map;

/**
 * ReduceSum, ReduceMean and ReduceMax, and the reductions that are exact compositions of them: ReduceMin as
 * -max(-x), ReduceSumSquare, ReduceL1 and ReduceL2 as sums of x*x or |x| (and a square root). Axes are an attribute
 * before the version given per op (ReduceSum: 13, the others: 18), an optional input from then on.
 */
final class ReduceOps {
    private ReduceOps() {}

    /** How a reduction is built from the IR's ops: pre-map, reduction, post-map (null: none). */
    private record Recipe(Unary.Fn before, Kind reduce, Unary.Fn after) {}

    private enum Kind { SUM, MEAN, MAX }

    static void register(Map<String, OpSpec> t) {
        put(t, "ReduceSum", 13, new Recipe(null, Kind.SUM, null));
        put(t, "ReduceMean", 18, new Recipe(null, Kind.MEAN, null));
        put(t, "ReduceMax", 18, new Recipe(null, Kind.MAX, null));
        put(t, "ReduceMin", 18, new Recipe(Unary.Fn.NEG, Kind.MAX, Unary.Fn.NEG));
        put(t, "ReduceSumSquare", 18, new Recipe(Unary.Fn.SQUARE, Kind.SUM, null));
        put(t, "ReduceL1", 18, new Recipe(Unary.Fn.ABS, Kind.SUM, null));
        put(t, "ReduceL2", 18, new Recipe(Unary.Fn.SQUARE, Kind.SUM, Unary.Fn.SQRT));
    }

    private static void put(Map<String, OpSpec> t, String op, int axesInputSince, Recipe r) {
        t.put(op, new OpSpec(c -> reduce(c, r, axesInputSince), OpSpec.StaticInputs.from(axesInputSince, 1)));
    }

    private static void reduce(NodeContext c, Recipe recipe, int axesInputSince) {
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
        if ((axes == null || axes.length == 0) && !noop) {
            axes = new long[r];
            for (int i = 0; i < r; i++) axes[i] = i;
        }
        if (axes == null) axes = new long[0];   // noop_with_empty_axes: a reduction over no axes
        int[] ax = new int[axes.length];
        boolean[] seen = new boolean[r];
        for (int i = 0; i < ax.length; i++) {
            ax[i] = c.axis(axes[i], r, "axis");
            if (seen[ax[i]]) throw c.invalid("axis %d appears twice", ax[i]);
            seen[ax[i]] = true;
        }
        // A reduction over no axes (a scalar, or noop_with_empty_axes) is the element maps alone, as ONNX's reference
        // has it (ReduceSumSquare gives x * x); for ReduceSum, ReduceMean and ReduceMax that is the input itself.
        boolean empty = ax.length == 0;
        boolean last = recipe.after == null;
        Value v = x;
        if (recipe.before != null)
            v = c.apply(empty && last ? null : "map", new Unary(recipe.before), v);
        if (!empty) {
            Op op = switch (recipe.reduce) {
                case SUM -> new ReduceSum(ax, keep);
                case MEAN -> new ReduceMean(ax, keep);
                case MAX -> new ReduceMax(ax, keep);
            };
            v = c.apply(last ? null : "reduce", op, v);
        }
        if (recipe.after != null) v = c.apply(null, new Unary(recipe.after), v);
        c.output(0, v);
    }
}
