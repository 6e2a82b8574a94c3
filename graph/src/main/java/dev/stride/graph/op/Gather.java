package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/**
 * ONNX Gather with constant indices: the entries of x at {@code indices} along {@code axis} (negative axes and
 * indices count from the end), the indices laid out as {@code indicesShape} (row-major). Output shape
 * x.shape[:axis] + indicesShape + x.shape[axis+1:], so scalar indices ({@code indicesShape = []}) drop the axis.
 * Indices may repeat; the gradient ({@link GatherBackward}) then adds up.
 */
public record Gather(int axis, long[] indices, int[] indicesShape) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        Shape x = inputs.getFirst();
        int a = normalizedAxis(axis, x.rank());
        checkIndices(indices, indicesShape, x.dim(a));
        int[] d = new int[x.rank() - 1 + indicesShape.length];
        int k = 0;
        for (int i = 0; i < a; i++) d[k++] = x.dim(i);
        for (int s : indicesShape) d[k++] = s;
        for (int i = a + 1; i < x.rank(); i++) d[k++] = x.dim(i);
        return List.of(Shape.of(d));
    }

    /** {@code axis} in [0, rank) for an axis in [-rank, rank). */
    static int normalizedAxis(int axis, int rank) {
        ShapeException.require(rank >= 1, "a scalar (rank 0) has no axis to gather along");
        ShapeException.require(axis >= -rank && axis < rank, "axis %d out of range for rank %d: must be in [%d, %d]",
                axis, rank, -rank, rank - 1);
        return axis < 0 ? axis + rank : axis;
    }

    /** Indices as many as indicesShape holds, each in [-n, n) for an axis of size n. */
    static void checkIndices(long[] indices, int[] indicesShape, int n) {
        ShapeException.require(indices != null && indicesShape != null, "indices and indicesShape must be given");
        long count = 1;
        for (int s : indicesShape) {
            ShapeException.require(s >= 0, "indicesShape %s has a negative dimension", Arrays.toString(indicesShape));
            count *= s;
        }
        ShapeException.require(count == indices.length, "indicesShape %s holds %d indices, got %d",
                Arrays.toString(indicesShape), count, indices.length);
        for (int i = 0; i < indices.length; i++)
            ShapeException.require(indices[i] >= -n && indices[i] < n,
                    "index %d at position %d out of range for an axis of size %d: must be in [%d, %d]",
                    indices[i], i, n, -n, n - 1);
    }

    @Override public List<Value> backward(GradContext g) {
        Shape x = g.input(0).shape();
        int a = normalizedAxis(axis, x.rank());
        return List.of(g.builder().apply("gather_grad",
                new GatherBackward(a, indices.clone(), indicesShape.clone(), x.dim(a)), g.gradOutput(0)));
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 0; }
}
