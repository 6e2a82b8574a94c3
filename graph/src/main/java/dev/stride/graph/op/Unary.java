package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * y = f(x), elementwise, with up to two constant parameters that the other functions ignore:
 * <ul>
 *   <li>LEAKY_RELU: {@code alpha} is the negative slope;</li>
 *   <li>ELU: y = alpha * (exp(x) - 1) for x <= 0;</li>
 *   <li>SELU (ONNX): y = beta * x for x > 0, beta * alpha * (exp(x) - 1) otherwise ({@code beta} is ONNX's gamma);</li>
 *   <li>HARD_SIGMOID (ONNX): y = max(0, min(1, alpha * x + beta));</li>
 *   <li>HARD_SWISH (ONNX, PyTorch): y = x * max(0, min(1, x/6 + 1/2)), fixed constants.</li>
 * </ul>
 */
public record Unary(Fn fn, double alpha, double beta) implements Op {
    public enum Fn {
        RELU, LEAKY_RELU, ELU, SIGMOID, TANH, SOFTPLUS, EXP, LOG, SQRT, SQUARE, ABS, NEG, SIGN,
        SELU, HARD_SIGMOID, HARD_SWISH;

        /** "LEAKY_RELU" -> "LeakyRelu": the op's name in messages and plan explain. */
        public String title() {
            StringBuilder s = new StringBuilder();
            for (String part : name().split("_")) s.append(part.charAt(0)).append(part.substring(1).toLowerCase());
            return s.toString();
        }
    }

    /** SELU's alpha and scale (gamma) from its paper, as PyTorch has them; ONNX's defaults are their float32 roundings. */
    public static final double SELU_ALPHA = 1.6732632423543772848170429916717;
    public static final double SELU_GAMMA = 1.0507009873554804934193349852946;

    public Unary(Fn fn) { this(fn, 0, 0); }

    /** The canonical constructor before {@code beta} existed: plan files written then load through it. */
    public Unary(Fn fn, double alpha) { this(fn, alpha, 0); }

    @Override public String kind() { return fn == null ? "Unary" : fn.title(); }

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        validate(fn, alpha, beta);
        return List.of(inputs.getFirst());
    }

    static void validate(Fn fn, double alpha, double beta) {
        ShapeException.require(fn != null, "function must be set");
        ShapeException.require(Double.isFinite(alpha), "alpha = %s must be finite", alpha);
        ShapeException.require(Double.isFinite(beta), "beta = %s must be finite", beta);
    }

    @Override public List<Value> backward(GradContext g) {
        GraphBuilder b = g.builder();
        Value dy = g.gradOutput(0);
        return List.of(switch (fn) {
            case NEG -> b.apply("neg", new Affine(-1, 0), dy);                       // linear: no saved tensors
            case SIGN -> b.apply("zero", new Fill(g.input(0).shape().dims(), 0));    // piecewise constant
            default -> b.apply(fn.name().toLowerCase() + "_grad", new UnaryBackward(fn, alpha, beta),
                    g.input(0), g.output(0), dy);
        });
    }
}
