package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/**
 * Constant padding of a tensor of any rank: dimension i grows by {@code before[i]} cells in front and
 * {@code after[i]} behind, all set to {@code value}. Cropping is {@link Slice}, its adjoint.
 */
public record Pad(int[] before, int[] after, double value) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        Shape x = inputs.getFirst();
        ShapeException.require(before != null && after != null, "before and after must be given");
        ShapeException.require(before.length == x.rank() && after.length == x.rank(),
                "before %s and after %s must have one entry per input dimension (rank %d)",
                Arrays.toString(before), Arrays.toString(after), x.rank());
        int[] d = x.dims();
        for (int i = 0; i < d.length; i++) {
            ShapeException.require(before[i] >= 0 && after[i] >= 0,
                    "padding must be >= 0 (crop with Slice), got before[%d] = %d, after[%d] = %d",
                    i, before[i], i, after[i]);
            long n = (long) d[i] + before[i] + after[i];
            ShapeException.require(n <= Integer.MAX_VALUE, "padded dimension %d = %d + %d + %d overflows an int",
                    i, d[i], before[i], after[i]);
            d[i] = (int) n;
        }
        return List.of(Shape.of(d));
    }

    /** The gradient of the kept cells: the window of dy where x sits. */
    @Override public List<Value> backward(GradContext g) {
        int[] d = g.input(0).shape().dims();
        int[] ends = new int[d.length];
        for (int i = 0; i < d.length; i++) ends[i] = before[i] + d[i];
        return List.of(g.builder().apply("unpad", new Slice(before.clone(), ends), g.gradOutput(0)));
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 0; }
}
