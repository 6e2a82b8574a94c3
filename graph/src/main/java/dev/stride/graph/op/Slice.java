package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/**
 * The box {@code [starts[i], ends[i])} of every dimension, step 1, of a tensor of any rank. Its gradient is
 * {@link Pad} with zeros: dy placed back where the box was.
 */
public record Slice(int[] starts, int[] ends) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        Shape x = inputs.getFirst();
        ShapeException.require(starts != null && ends != null, "starts and ends must be given");
        ShapeException.require(starts.length == x.rank() && ends.length == x.rank(),
                "starts %s and ends %s must have one entry per input dimension (rank %d)",
                Arrays.toString(starts), Arrays.toString(ends), x.rank());
        int[] d = new int[x.rank()];
        for (int i = 0; i < d.length; i++) {
            ShapeException.require(0 <= starts[i] && starts[i] <= ends[i] && ends[i] <= x.dim(i),
                    "dimension %d: need 0 <= start <= end <= size, got start = %d, end = %d, size = %d",
                    i, starts[i], ends[i], x.dim(i));
            d[i] = ends[i] - starts[i];
        }
        return List.of(Shape.of(d));
    }

    @Override public List<Value> backward(GradContext g) {
        int[] d = g.input(0).shape().dims();
        int[] after = new int[d.length];
        for (int i = 0; i < d.length; i++) after[i] = d[i] - ends[i];
        return List.of(g.builder().apply("unslice", new Pad(starts.clone(), after, 0.0), g.gradOutput(0)));
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 0; }
}
