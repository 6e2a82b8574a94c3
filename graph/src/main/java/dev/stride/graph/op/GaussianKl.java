package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/**
 * KL(N(mu, exp(logvar)) || N(0, I)) of a VAE's posterior, summed over the latent dimensions and averaged over the
 * batch: inputs mu and logvar of one shape [N, ...]; loss = (1/N) * sum -0.5*(1 + logvar - mu^2 - exp(logvar)).
 * Gradients dmu = mu/N*dy, dlogvar = 0.5*(exp(logvar) - 1)/N*dy.
 */
public record GaussianKl() implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 2);
        check(inputs.get(0), inputs.get(1));
        return List.of(Shape.SCALAR);
    }

    static void check(Shape mu, Shape logvar) {
        ShapeException.require(mu.rank() >= 1, "mu must be [N, ...] with a batch dimension, got rank 0");
        LossShapes.sameNonEmpty("mu", mu, "logvar", logvar);
    }

    @Override public List<Value> backward(GradContext g) {
        List<Value> d = g.builder().applyAll("gaussian_kl_grad", new GaussianKlBackward(),
                g.input(0), g.input(1), g.gradOutput(0));
        return Arrays.asList(g.needsGrad(0) ? d.get(0) : null, g.needsGrad(1) ? d.get(1) : null);
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 6 * inputs.getFirst().size(); }
}
