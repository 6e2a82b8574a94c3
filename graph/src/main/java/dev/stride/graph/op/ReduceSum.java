package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/**
 * Sums over {@code axes} (negative counts from the end; empty reduces nothing), keeping them as size 1 when
 * {@code keepDims}, removing them otherwise. The builder DSL's {@code sumAll} reduces every axis to shape [].
 */
public record ReduceSum(int[] axes, boolean keepDims) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        return List.of(outputShape(inputs.getFirst(), axes, keepDims));
    }

    @Override public List<Value> backward(GradContext g) {
        return List.of(broadcastBack(g, axes, 1.0));
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return inputs.getFirst().size(); }

    /** Which axes of {@code in} are reduced; throws for an axis out of range or named twice. */
    public static boolean[] reduced(Shape in, int[] axes) {
        ShapeException.require(axes != null, "axes must be set");
        boolean[] r = new boolean[in.rank()];
        for (int a : axes) {
            ShapeException.require(a >= -in.rank() && a < in.rank(),
                    "axis %d out of range for rank %d: must be in [%d, %d]", a, in.rank(), -in.rank(), in.rank() - 1);
            int k = a < 0 ? a + in.rank() : a;
            ShapeException.require(!r[k], "axis %d named twice in %s", k, Arrays.toString(axes));
            r[k] = true;
        }
        return r;
    }

    /** The input shape with every reduced axis set to 1: the output under keepDims. */
    public static Shape keptShape(Shape in, int[] axes) {
        boolean[] r = reduced(in, axes);
        int[] d = in.dims();
        for (int i = 0; i < d.length; i++) if (r[i]) d[i] = 1;
        return Shape.of(d);
    }

    static Shape outputShape(Shape in, int[] axes, boolean keepDims) {
        boolean[] r = reduced(in, axes);
        if (keepDims) return keptShape(in, axes);
        return Shape.of(java.util.stream.IntStream.range(0, in.rank()).filter(i -> !r[i]).map(in::dim).toArray());
    }

    /** dx = scale * dy, reshaped to the keepDims shape and broadcast back over the reduced axes. */
    static Value broadcastBack(GradContext g, int[] axes, double scale) {
        GraphBuilder b = g.builder();
        Shape in = g.input(0).shape();
        Value dy = g.gradOutput(0);
        Shape kept = keptShape(in, axes);
        if (!dy.shape().equals(kept)) dy = b.apply("reduce_grad_reshape", new Reshape(kept.dims()), dy);
        if (scale != 1) dy = b.apply("reduce_grad_scale", new Affine(scale, 0), dy);  // scale before broadcasting: fewer elements
        if (!kept.equals(in)) dy = b.apply("reduce_grad_broadcast", new BroadcastTo(in.dims()), dy);
        return dy;
    }
}
