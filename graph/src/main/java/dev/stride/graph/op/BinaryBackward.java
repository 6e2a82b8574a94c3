package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * Gradients of {@link Binary} POW, MAX and MIN before the broadcast reduction: inputs a, b and dy (of the
 * broadcast shape); outputs da and db, both of dy's shape ({@link Binary} sums each back to its input's shape).
 * <ul>
 *   <li>POW, as PyTorch: da = dy * b * a^(b-1), taken as 0 where b = 0; db = dy * a^b * ln(a), taken as 0 where
 *       a = 0 and b >= 0 (the limit from the right), and NaN where a < 0 (a^b is not real-differentiable in b
 *       there).</li>
 *   <li>MAX: dy goes to a where a >= b, else to b; MIN: to a where a <= b, else to b. Ties go to the first
 *       input.</li>
 * </ul>
 * ADD, SUB, MUL and DIV build their gradients from other ops and are refused here.
 */
public record BinaryBackward(Binary.Kind op) implements Op {
    @Override public String kind() { return op == null ? "BinaryBackward" : new Binary(op).kind() + "Backward"; }

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 3);
        ShapeException.require(op == Binary.Kind.POW || op == Binary.Kind.MAX || op == Binary.Kind.MIN,
                "op must be POW, MAX or MIN (the others build their gradients from other ops), got %s", op);
        Shape out = Broadcast.shape(inputs.get(0), inputs.get(1));
        ShapeException.require(inputs.get(2).equals(out), "dy must have the broadcast shape %s of a and b, got %s",
                out, inputs.get(2));
        return List.of(out, out);
    }

    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }
}
