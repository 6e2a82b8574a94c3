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
 * The VAE reparameterisation trick in one op: inputs mu and logvar (same shape); outputs z = mu + exp(logvar/2)*eps
 * and the noise eps ~ N(0, 1), drawn as {@link GaussianNoise} draws it (same seed, step and index give the same
 * eps). Gradients: dmu = dz, dlogvar = dz*exp(logvar/2)*eps/2 (through {@link ReparameterizeBackward}); eps is a
 * constant of the run, so a gradient arriving on the noise output contributes nothing.
 */
public record Reparameterize(long seed) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 2);
        ShapeException.require(inputs.get(0).equals(inputs.get(1)),
                "mu and logvar must have the same shape, got %s and %s", inputs.get(0), inputs.get(1));
        return List.of(inputs.getFirst(), inputs.getFirst());
    }

    @Override public List<Value> backward(GradContext g) {
        Value dz = g.gradOutput(0);
        if (dz == null) return Op.noGradient(g);
        GraphBuilder b = g.builder();
        Value dlogvar = g.needsGrad(1)
                ? b.apply("reparameterize_grad", new ReparameterizeBackward(), g.input(1), g.output(1), dz) : null;
        return Arrays.asList(g.needsGrad(0) ? dz : null, dlogvar);
    }

    /** Box-Muller (about 20 operations) plus exp and a multiply-add per element. */
    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 24 * inputs.getFirst().size(); }
}
