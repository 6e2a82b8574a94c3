package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/**
 * y = x for x > 0, slope * x otherwise. Inputs x [N, C, ...] and slope of shape [1] (one slope shared by every
 * element) or [C] (one per channel, along axis 1), as in PyTorch's PReLU.
 */
public record PRelu() implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 2);
        checkSlope(inputs.get(0), inputs.get(1));
        return List.of(inputs.get(0));
    }

    /** Slope [1], or [C] where C = x.dim(1). */
    static void checkSlope(Shape x, Shape slope) {
        ShapeException.require(slope.rank() == 1, "slope must have rank 1 ([1] or [C]), got %s", slope);
        if (slope.dim(0) == 1) return;
        ShapeException.require(x.rank() >= 2,
                "a per-channel slope %s needs x of rank >= 2 (channels on axis 1), got x %s", slope, x);
        ShapeException.require(slope.dim(0) == x.dim(1),
                "per-channel slope length %d must equal the channel count x.dim(1) = %d", slope.dim(0), x.dim(1));
    }

    @Override public List<Value> backward(GradContext g) {
        List<Value> d = g.builder().applyAll("prelu_grad", new PReluBackward(), g.input(0), g.input(1), g.gradOutput(0));
        return Arrays.asList(g.needsGrad(0) ? d.get(0) : null, g.needsGrad(1) ? d.get(1) : null);
    }
}
