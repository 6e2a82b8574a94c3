package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * Gradient of {@link Gather}: scatter-add. Input dy of the gather's output shape; output dx with the gathered
 * index dimensions replaced by one axis of size {@code axisSize}, dx[..., i, ...] = sum of dy over the positions
 * whose index is i. Linear in dy: its gradient is the gather.
 *
 * @param axis the gather axis, already in [0, rank of dx)
 */
public record GatherBackward(int axis, long[] indices, int[] indicesShape, int axisSize) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        Shape dy = inputs.getFirst();
        ShapeException.require(axisSize >= 0, "axisSize = %d must be >= 0", axisSize);
        Gather.checkIndices(indices, indicesShape, axisSize);
        int k = indicesShape.length, rank = dy.rank() - k + 1;   // rank of dx
        ShapeException.require(axis >= 0 && axis < rank,
                "axis %d out of range: dy %s with %d index dimensions gives dx of rank %d", axis, dy, k, rank);
        int[] d = new int[rank];
        for (int i = 0; i < axis; i++) d[i] = dy.dim(i);
        for (int j = 0; j < k; j++)
            ShapeException.require(dy.dim(axis + j) == indicesShape[j],
                    "dy dimension %d is %d, the index dimension %d is %d", axis + j, dy.dim(axis + j), j, indicesShape[j]);
        d[axis] = axisSize;
        for (int i = axis + 1; i < rank; i++) d[i] = dy.dim(i + k - 1);
        return List.of(Shape.of(d));
    }

    @Override public List<Value> backward(GradContext g) {
        return List.of(g.builder().apply("gather", new Gather(axis, indices.clone(), indicesShape.clone()), g.gradOutput(0)));
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return inputs.getFirst().size(); }
}
