package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * One step of SGD with momentum in PyTorch's convention (dampening 0): inputs param p, velocity v, gradient g and
 * the learning rate lr (a scalar input, so schedules need no recompile); outputs p' and v' with
 * g' = g + weightDecay*p, v' = momentum*v + g', step = nesterov ? g' + momentum*v' : v', p' = p - lr*step.
 */
public record SgdUpdate(double momentum, double weightDecay, boolean nesterov) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 4);
        ShapeException.require(momentum >= 0 && Double.isFinite(momentum), "momentum must be finite and >= 0, got %s", momentum);
        ShapeException.require(weightDecay >= 0 && Double.isFinite(weightDecay),
                "weightDecay must be finite and >= 0, got %s", weightDecay);
        ShapeException.require(!nesterov || momentum > 0, "nesterov needs momentum > 0, got momentum %s", momentum);
        Shape p = inputs.getFirst();
        ShapeException.require(inputs.get(1).equals(p), "velocity must have the shape of the parameter %s, got %s", p, inputs.get(1));
        ShapeException.require(inputs.get(2).equals(p), "gradient must have the shape of the parameter %s, got %s", p, inputs.get(2));
        ShapeException.require(inputs.get(3).rank() == 0, "lr must be a scalar [], got %s", inputs.get(3));
        return List.of(p, p);
    }

    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 8 * inputs.getFirst().size(); }
}
