package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * Local response normalisation across channels (ONNX LRN, PyTorch LocalResponseNorm) of x[N, C, d1, ...]:
 * y = x / (bias + alpha/size * s)^beta, where s sums x^2 over channels c - floor((size-1)/2) .. c + ceil((size-1)/2)
 * that exist. {@code alpha >= 0} and {@code bias > 0} keep the base positive, so the power is always real.
 */
public record Lrn(int size, double alpha, double beta, double bias) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        check(inputs.getFirst());
        return List.of(inputs.getFirst());
    }

    void check(Shape x) {
        ShapeException.require(x.rank() >= 3, "input must be [N, C, d1, ...] (rank >= 3), got rank %d", x.rank());
        ShapeException.require(size >= 1, "size = %d must be >= 1", size);
        ShapeException.require(alpha >= 0 && Double.isFinite(alpha), "alpha = %s must be finite and >= 0", alpha);
        ShapeException.require(Double.isFinite(beta), "beta = %s must be finite", beta);
        ShapeException.require(bias > 0 && Double.isFinite(bias), "bias = %s must be finite and > 0", bias);
    }

    /** The first channel of channel c's window is c - before(); the last c + size - 1 - before(). */
    public int before() { return (size - 1) / 2; }

    @Override public List<Value> backward(GradContext g) {
        return List.of(g.builder().apply("lrn_grad", new LrnBackward(size, alpha, beta, bias), g.input(0), g.gradOutput(0)));
    }

    /** The window's squares (a multiply-add each), the power and the division. */
    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        return (2L * size + 3) * inputs.getFirst().size();
    }
}
