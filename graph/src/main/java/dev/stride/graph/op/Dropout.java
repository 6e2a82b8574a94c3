package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/**
 * Inverted dropout, a training-only op: outputs y = x*mask and the mask itself, where each mask element is 0 with
 * probability p and 1/(1-p) otherwise, so E[y] = x and inference needs no rescaling. Element i keeps when
 * {@code CounterRng.uniform(CounterRng.key(seed, step), i) >= p}; the step is the session's run counter, so the
 * mask is reproducible for a step and changes between steps. The gradient is dy*mask.
 */
public record Dropout(double p, long seed) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        ShapeException.require(p >= 0 && p < 1, "drop probability p must be in [0, 1), got %s", p);
        return List.of(inputs.getFirst(), inputs.getFirst());
    }

    @Override public List<Value> backward(GradContext g) {
        Value dy = g.gradOutput(0);      // the mask does not depend on x: its gradient, if any, contributes nothing
        if (dy == null || !g.needsGrad(0)) return Op.noGradient(g);
        return Arrays.asList(g.builder().apply("dropout_grad", new Binary(Binary.Kind.MUL), dy, g.output(1)));
    }

    /** One hash and one multiply per element. */
    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return inputs.getFirst().size(); }
}
