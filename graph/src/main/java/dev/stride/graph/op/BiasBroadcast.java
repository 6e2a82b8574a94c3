package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/** Repeats b[C] along every dimension of {@code dims} = [N, C, ...] but the channel: the adjoint of {@link BiasGrad}. */
public record BiasBroadcast(int[] dims) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        Shape b = inputs.getFirst();
        ShapeException.require(dims.length >= 2, "target must have rank >= 2 [N, C, ...], got rank %d", dims.length);
        for (int d : dims) ShapeException.require(d >= 0, "dimension %d must be >= 0", d);
        ShapeException.require(b.rank() == 1 && b.dim(0) == dims[1],
                "input must have shape [%d] (the target's channel dimension), got %s", dims[1], b);
        return List.of(Shape.of(dims));
    }

    @Override public List<Value> backward(GradContext g) {
        return List.of(g.builder().apply("bias_grad", new BiasGrad(), g.gradOutput(0)));
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 0; }
}
