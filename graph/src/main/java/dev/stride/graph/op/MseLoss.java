package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/** Mean squared error over every element: inputs a, b of one shape; loss = mean((a - b)^2). */
public record MseLoss() implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 2);
        LossShapes.sameNonEmpty("a", inputs.get(0), "b", inputs.get(1));
        return List.of(Shape.SCALAR);
    }

    /** da = 2(a - b)/n*dy and db = -da: plain broadcasting arithmetic, no dedicated kernel needed. */
    @Override public List<Value> backward(GradContext g) {
        GraphBuilder b = g.builder();
        long n = g.input(0).shape().size();
        Value diff = b.apply("mse_diff", new Binary(Binary.Kind.SUB), g.input(0), g.input(1));
        Value da = b.apply("mse_grad", new Affine(2.0 / n, 0),
                b.apply("mse_dy", new Binary(Binary.Kind.MUL), diff, g.gradOutput(0)));
        Value db = g.needsGrad(1) ? b.apply("mse_grad_b", new Affine(-1, 0), da) : null;
        return Arrays.asList(g.needsGrad(0) ? da : null, db);
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 3 * inputs.getFirst().size(); }
}
