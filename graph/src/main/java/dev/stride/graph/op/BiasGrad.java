package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * Sums dy[N, C, ...] over every dimension but the channel (dimension 1) into [C]: the gradient of a per-channel
 * bias. A dedicated op because the channel axis is not the last one, so {@link SumTo} (right-aligned) cannot
 * produce [C] without a reshape.
 */
public record BiasGrad() implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        Shape dy = inputs.getFirst();
        ShapeException.require(dy.rank() >= 2, "gradient must have rank >= 2 [N, C, ...], got %s", dy);
        return List.of(Shape.of(dy.dim(1)));
    }

    /** Linear: the adjoint of a sum over N and the spatial axes repeats each channel's value along them. */
    @Override public List<Value> backward(GradContext g) {
        return List.of(g.builder().apply("bias_broadcast", new BiasBroadcast(g.input(0).shape().dims()), g.gradOutput(0)));
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return inputs.getFirst().size(); }
}
