package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;

import java.util.List;

/**
 * Maximum over {@code axes}, with {@link ReduceSum}'s rules for axes and keepDims. NaN propagates; an empty
 * reduction gives -infinity (ONNX ReduceMax). The gradient goes to the first maximal element in row-major order,
 * as max pooling's does.
 */
public record ReduceMax(int[] axes, boolean keepDims) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        return List.of(ReduceSum.outputShape(inputs.getFirst(), axes, keepDims));
    }

    @Override public List<Value> backward(GradContext g) {
        return List.of(g.builder().apply("reduce_max_grad", new ReduceMaxBackward(axes.clone(), keepDims),
                g.input(0), g.gradOutput(0)));
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return inputs.getFirst().size(); }
}
