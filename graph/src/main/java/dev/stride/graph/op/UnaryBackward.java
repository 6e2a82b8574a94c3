package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * dx = dy * f'(x) for {@link Unary}: inputs x, y = f(x), dy. The kernel uses whichever of x and y gives the
 * derivative more cheaply or stably (sigmoid' = y(1 - y), tanh' = 1 - y^2, exp' = y, sqrt' = 1/(2y)).
 * At the kinks the derivative is taken as PyTorch does: 0 for SIGN, RELU at 0 and HARD_SIGMOID where
 * alpha*x + beta is 0 or 1; HARD_SWISH's is x/3 + 1/2 on [-3, 3] (so -1/2 at -3 and 3/2 at 3).
 */
public record UnaryBackward(Unary.Fn fn, double alpha, double beta) implements Op {
    /** The canonical constructor before {@code beta} existed: plan files written then load through it. */
    public UnaryBackward(Unary.Fn fn, double alpha) { this(fn, alpha, 0); }

    @Override public String kind() { return fn == null ? "UnaryBackward" : fn.title() + "Backward"; }

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 3);
        Unary.validate(fn, alpha, beta);
        Shape x = inputs.get(0);
        ShapeException.require(inputs.get(1).equals(x) && inputs.get(2).equals(x),
                "x, y and dy must have the same shape, got %s, %s, %s", x, inputs.get(1), inputs.get(2));
        return List.of(x);
    }

    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }
}
