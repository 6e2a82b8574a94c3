package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/**
 * A fully connected layer, y = x w^T + b: inputs x [N, K], w [M, K] (PyTorch's Linear layout: one row of
 * weights per output feature) and optionally b [M]; output [N, M].
 */
public record Dense() implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 2, 3);
        Shape x = inputs.get(0), w = inputs.get(1);
        ShapeException.require(x.rank() == 2, "x must have rank 2 [N, K] (flatten it first), got %s", x);
        ShapeException.require(w.rank() == 2, "w must have rank 2 [M, K], got %s", w);
        ShapeException.require(x.dim(1) == w.dim(1),
                "input features differ: x.dim(1) = %d (x %s), w.dim(1) = %d (w %s)", x.dim(1), x, w.dim(1), w);
        if (inputs.size() == 3) {
            Shape b = inputs.get(2);
            ShapeException.require(b.rank() == 1 && b.dim(0) == w.dim(0),
                    "bias must have shape [M] = [%d] (M = w.dim(0)), got %s", w.dim(0), b);
        }
        return List.of(Shape.of(x.dim(0), w.dim(0)));
    }

    @Override public List<Value> backward(GradContext g) {
        GraphBuilder b = g.builder();
        Value x = g.input(0), w = g.input(1), dy = g.gradOutput(0);
        Value dx = g.needsGrad(0) ? b.apply("dense_grad_x", new MatMul(false, false), dy, w) : null;  // [N,M][M,K]
        Value dw = g.needsGrad(1) ? b.apply("dense_grad_w", new MatMul(true, false), dy, x) : null;   // [M,N][N,K]
        if (g.node().inputs().size() == 2) return Arrays.asList(dx, dw);
        Value db = g.needsGrad(2) ? Binary.sumTo(b, dy, g.input(2).shape()) : null;                 // sum over N
        return Arrays.asList(dx, dw, db);
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) {
        Shape x = inputs.get(0), w = inputs.get(1);
        return 2L * x.dim(0) * w.dim(0) * x.dim(1);
    }
}
