package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;

import java.util.List;

/** Mean over {@code axes}: {@link ReduceSum} divided by the number of elements each output summarises. */
public record ReduceMean(int[] axes, boolean keepDims) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        return List.of(ReduceSum.outputShape(inputs.getFirst(), axes, keepDims));
    }

    @Override public List<Value> backward(GradContext g) {
        return List.of(ReduceSum.broadcastBack(g, axes, 1.0 / count(g.input(0).shape(), g.node().output().shape())));
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return inputs.getFirst().size() + outputs.getFirst().size(); }

    /**
     * Elements averaged into each output: input size / output size. At least 1, so the gradient's scale stays
     * finite when a reduced axis is empty (the forward mean is then NaN and the gradient has no elements).
     */
    public static long count(Shape in, Shape out) { return out.size() == 0 ? 1 : Math.max(1, in.size() / out.size()); }
}
