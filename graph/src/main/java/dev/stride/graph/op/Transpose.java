package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/** Permutes the dimensions of a tensor of any rank: output dimension i is input dimension {@code perm[i]}. */
public record Transpose(int[] perm) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        Shape x = inputs.getFirst();
        ShapeException.require(perm != null, "perm must be given");
        ShapeException.require(perm.length == x.rank(), "perm %s must have one entry per input dimension (rank %d)",
                Arrays.toString(perm), x.rank());
        boolean[] seen = new boolean[x.rank()];
        int[] d = new int[x.rank()];
        for (int i = 0; i < perm.length; i++) {
            int p = perm[i];
            ShapeException.require(p >= 0 && p < x.rank() && !seen[p], "perm %s is not a permutation of 0..%d",
                    Arrays.toString(perm), x.rank() - 1);
            seen[p] = true;
            d[i] = x.dim(p);
        }
        return List.of(Shape.of(d));
    }

    /** The inverse permutation: input dimension perm[i] comes back from output dimension i. */
    @Override public List<Value> backward(GradContext g) {
        int[] inverse = new int[perm.length];
        for (int i = 0; i < perm.length; i++) inverse[perm[i]] = i;
        return List.of(g.builder().apply("transpose_grad", new Transpose(inverse), g.gradOutput(0)));
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 0; }
}
