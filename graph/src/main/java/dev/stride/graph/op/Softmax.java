package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * y = exp(x - max) / sum(exp(x - max)) along {@code axis} (negative counts from the end), any rank >= 1.
 * Subtracting the maximum keeps exp from overflowing without changing the result.
 */
public record Softmax(int axis) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        normalizeAxis(axis, inputs.getFirst());
        return List.of(inputs.getFirst());
    }

    @Override public List<Value> backward(GradContext g) {
        return List.of(g.builder().apply("softmax_grad", new SoftmaxBackward(axis), g.output(0), g.gradOutput(0)));
    }

    /** max, subtract, exp, sum, divide. */
    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 5 * outputs.getFirst().size(); }

    /** {@code axis} in {@code [-rank, rank)} mapped to {@code [0, rank)}; throws for a scalar or an axis out of range. */
    public static int normalizeAxis(int axis, Shape s) {
        ShapeException.require(s.rank() > 0, "axis %d out of range: a scalar (rank 0) has no axes", axis);
        ShapeException.require(axis >= -s.rank() && axis < s.rank(),
                "axis %d out of range for rank %d: must be in [%d, %d]", axis, s.rank(), -s.rank(), s.rank() - 1);
        return axis < 0 ? axis + s.rank() : axis;
    }
}
