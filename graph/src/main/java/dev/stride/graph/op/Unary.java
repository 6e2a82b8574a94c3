package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * y = f(x), elementwise. {@code alpha} is the negative slope of LEAKY_RELU and the saturation value of ELU
 * (y = alpha * (exp(x) - 1) for x <= 0); the other functions ignore it.
 */
public record Unary(Fn fn, double alpha) implements Op {
    public enum Fn {
        RELU, LEAKY_RELU, ELU, SIGMOID, TANH, SOFTPLUS, EXP, LOG, SQRT, SQUARE, ABS, NEG, SIGN;

        /** "LEAKY_RELU" -> "LeakyRelu": the op's name in messages and plan explain. */
        public String title() {
            StringBuilder s = new StringBuilder();
            for (String part : name().split("_")) s.append(part.charAt(0)).append(part.substring(1).toLowerCase());
            return s.toString();
        }
    }

    public Unary(Fn fn) { this(fn, 0); }

    @Override public String kind() { return fn == null ? "Unary" : fn.title(); }

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        validate(fn, alpha);
        return List.of(inputs.getFirst());
    }

    static void validate(Fn fn, double alpha) {
        ShapeException.require(fn != null, "function must be set");
        ShapeException.require(Double.isFinite(alpha), "alpha = %s must be finite", alpha);
    }

    @Override public List<Value> backward(GradContext g) {
        GraphBuilder b = g.builder();
        Value dy = g.gradOutput(0);
        return List.of(switch (fn) {
            case NEG -> b.apply("neg", new Affine(-1, 0), dy);                       // linear: no saved tensors
            case SIGN -> b.apply("zero", new Fill(g.input(0).shape().dims(), 0));    // piecewise constant
            default -> b.apply(fn.name().toLowerCase() + "_grad", new UnaryBackward(fn, alpha),
                    g.input(0), g.output(0), dy);
        });
    }
}
