package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/**
 * Elementwise a (op) b with NumPy broadcasting. POW is {@code Math.pow} (NaN for a negative base with a
 * non-integer exponent, as numpy and ONNX); MAX and MIN propagate NaN. Their gradients come from
 * {@link BinaryBackward}, which documents the edge cases.
 */
public record Binary(Kind op) implements Op {
    public enum Kind { ADD, SUB, MUL, DIV, POW, MAX, MIN }

    @Override public String kind() { return op.name().charAt(0) + op.name().substring(1).toLowerCase(); }

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 2);
        return List.of(Broadcast.shape(inputs.get(0), inputs.get(1)));
    }

    @Override public List<Value> backward(GradContext g) {
        GraphBuilder b = g.builder();
        Value a = g.input(0), c = g.input(1), dy = g.gradOutput(0);
        Value ga = null, gc = null;
        switch (op) {
            case ADD -> {
                if (g.needsGrad(0)) ga = sumTo(b, dy, a.shape());
                if (g.needsGrad(1)) gc = sumTo(b, dy, c.shape());
            }
            case SUB -> {
                if (g.needsGrad(0)) ga = sumTo(b, dy, a.shape());
                if (g.needsGrad(1)) gc = sumTo(b, b.apply("neg", new Affine(-1, 0), dy), c.shape());
            }
            case MUL -> {
                if (g.needsGrad(0)) ga = sumTo(b, b.apply("mul", new Binary(Kind.MUL), dy, c), a.shape());
                if (g.needsGrad(1)) gc = sumTo(b, b.apply("mul", new Binary(Kind.MUL), dy, a), c.shape());
            }
            case DIV -> {
                Value t = b.apply("div", new Binary(Kind.DIV), dy, c);           // dy / c
                if (g.needsGrad(0)) ga = sumTo(b, t, a.shape());
                if (g.needsGrad(1)) {                                             // -dy * a / c^2 = -(dy/c) * y
                    Value ty = b.apply("mul", new Binary(Kind.MUL), t, g.output(0));
                    gc = sumTo(b, b.apply("neg", new Affine(-1, 0), ty), c.shape());
                }
            }
            case POW, MAX, MIN -> {
                List<Value> d = b.applyAll(op.name().toLowerCase() + "_grad", new BinaryBackward(op), a, c, dy);
                if (g.needsGrad(0)) ga = sumTo(b, d.get(0), a.shape());
                if (g.needsGrad(1)) gc = sumTo(b, d.get(1), c.shape());
            }
        }
        return Arrays.asList(ga, gc);
    }

    /** Sums a broadcast gradient back to the shape of the input it came from (identity when equal). */
    public static Value sumTo(GraphBuilder b, Value grad, Shape target) {
        if (grad.shape().equals(target)) return grad;
        return b.apply("sum_to", new SumTo(target.dims()), grad);
    }
}
