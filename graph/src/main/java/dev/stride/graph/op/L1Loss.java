package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/** Mean absolute error over every element: inputs a, b of one shape; loss = mean(|a - b|). */
public record L1Loss() implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 2);
        LossShapes.sameNonEmpty("a", inputs.get(0), "b", inputs.get(1));
        return List.of(Shape.SCALAR);
    }

    /** da = sign(a - b)/n*dy (the subgradient 0 where a == b), db = -da. */
    @Override public List<Value> backward(GradContext g) {
        GraphBuilder b = g.builder();
        Value da = b.apply("l1_grad", new L1LossBackward(), g.input(0), g.input(1), g.gradOutput(0));
        Value db = g.needsGrad(1) ? b.apply("l1_grad_b", new Affine(-1, 0), da) : null;
        return Arrays.asList(g.needsGrad(0) ? da : null, db);
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 3 * inputs.getFirst().size(); }
}
