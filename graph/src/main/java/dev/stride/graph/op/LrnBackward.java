package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * Gradient of {@link Lrn}: inputs x and dy, output dx. With d_c = bias + alpha/size * s_c,
 * dx_j = dy_j d_j^-beta - 2 alpha beta / size * x_j * sum over the channels c whose window holds j of
 * dy_c x_c d_c^(-beta-1).
 */
public record LrnBackward(int size, double alpha, double beta, double bias) implements Op {
    public Lrn forward() { return new Lrn(size, alpha, beta, bias); }

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 2);
        forward().check(inputs.get(0));
        ShapeException.require(inputs.get(1).equals(inputs.get(0)), "dy must have the shape of x %s, got %s",
                inputs.get(0), inputs.get(1));
        return List.of(inputs.get(0));
    }

    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        return (4L * size + 8) * inputs.getFirst().size();
    }
}
