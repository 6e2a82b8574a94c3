package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * One step of Adam (torch.optim.Adam, amsgrad off) or, with {@code decoupled}, AdamW (torch.optim.AdamW): inputs
 * param p, first moment m, second moment v, gradient g, learning rate lr and the step count t (a scalar, 1 on the
 * first step); outputs p', m', v'. With decoupled = false the weight decay is L2 folded into the gradient,
 * g' = g + weightDecay*p; with decoupled = true it shrinks the parameter first, p0 = p*(1 - lr*weightDecay), and
 * g' = g. Then m' = beta1*m + (1-beta1)*g', v' = beta2*v + (1-beta2)*g'^2 and
 * p' = p0 - lr/(1-beta1^t) * m' / (sqrt(v')/sqrt(1-beta2^t) + eps), exactly as PyTorch orders it.
 */
public record AdamUpdate(double beta1, double beta2, double eps, double weightDecay, boolean decoupled) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 6);
        ShapeException.require(beta1 >= 0 && beta1 < 1, "beta1 must be in [0, 1), got %s", beta1);
        ShapeException.require(beta2 >= 0 && beta2 < 1, "beta2 must be in [0, 1), got %s", beta2);
        ShapeException.require(eps >= 0 && Double.isFinite(eps), "eps must be finite and >= 0, got %s", eps);
        ShapeException.require(weightDecay >= 0 && Double.isFinite(weightDecay),
                "weightDecay must be finite and >= 0, got %s", weightDecay);
        Shape p = inputs.getFirst();
        UpdateShapes.requireLike(p, inputs.get(1), "first moment");
        UpdateShapes.requireLike(p, inputs.get(2), "second moment");
        UpdateShapes.requireLike(p, inputs.get(3), "gradient");
        UpdateShapes.requireScalar(inputs.get(4), "lr");
        UpdateShapes.requireScalar(inputs.get(5), "step count t");
        return List.of(p, p, p);
    }

    @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 14 * inputs.getFirst().size(); }
}
