package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.ArrayList;
import java.util.List;

/**
 * One step of RMSprop as torch.optim.RMSprop computes it. Inputs: param p, square average s, then the momentum
 * buffer b only when momentum > 0, then the gradient average a only when centered, then gradient g and learning
 * rate lr; outputs p' and the new value of each state input, in the same order. With g' = g + weightDecay*p:
 * s' = alpha*s + (1-alpha)*g'^2; a' = alpha*a + (1-alpha)*g'; d = sqrt(centered ? s' - a'^2 : s') + eps;
 * with momentum b' = momentum*b + g'/d and p' = p - lr*b', without it p' = p - lr*g'/d.
 */
public record RmsPropUpdate(double alpha, double eps, double momentum, double weightDecay, boolean centered) implements Op {
    /** How many state tensors the update reads and writes: the square average, then the optional ones. */
    public int states() { return 1 + (momentum > 0 ? 1 : 0) + (centered ? 1 : 0); }

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        ShapeException.require(alpha >= 0 && alpha <= 1, "alpha must be in [0, 1], got %s", alpha);
        ShapeException.require(eps >= 0 && Double.isFinite(eps), "eps must be finite and >= 0, got %s", eps);
        ShapeException.require(momentum >= 0 && Double.isFinite(momentum), "momentum must be finite and >= 0, got %s", momentum);
        ShapeException.require(weightDecay >= 0 && Double.isFinite(weightDecay),
                "weightDecay must be finite and >= 0, got %s", weightDecay);
        int states = states();
        ShapeException.require(inputs.size() == states + 3,
                "expects %d inputs (param, %d state tensor(s) for momentum=%s centered=%s, gradient, lr), got %d",
                states + 3, states, momentum, centered, inputs.size());
        Shape p = inputs.getFirst();
        UpdateShapes.requireLike(p, inputs.get(1), "square average");
        int k = 2;
        if (momentum > 0) UpdateShapes.requireLike(p, inputs.get(k++), "momentum buffer");
        if (centered) UpdateShapes.requireLike(p, inputs.get(k++), "gradient average");
        UpdateShapes.requireLike(p, inputs.get(k++), "gradient");
        UpdateShapes.requireScalar(inputs.get(k), "lr");
        List<Shape> out = new ArrayList<>();
        for (int i = 0; i <= states; i++) out.add(p);
        return out;
    }

    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 12 * inputs.getFirst().size(); }
}
