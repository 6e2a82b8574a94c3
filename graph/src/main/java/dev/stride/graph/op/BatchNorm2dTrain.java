package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.GraphException;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/**
 * Batch normalisation with batch statistics (training mode). Inputs x[N,C,H,W], gamma[C], beta[C]; outputs
 * y = gamma*(x - mean)/sqrt(var + eps) + beta, the batch mean[C] and the biased batch variance var[C]
 * (over N*H*W per channel). The statistics only feed the running-statistics update, so the gradient treats them
 * as not differentiated through: only y's gradient may flow (anything else is refused at graph build time).
 */
public record BatchNorm2dTrain(double eps) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 3);
        int c = checkInput(eps, inputs.getFirst());
        Shape ch = Shape.of(c);
        checkChannelVector("gamma", inputs.get(1), c);
        checkChannelVector("beta", inputs.get(2), c);
        return List.of(inputs.getFirst(), ch, ch);
    }

    @Override public List<Value> backward(GradContext g) {
        if (g.gradOutput(1) != null || g.gradOutput(2) != null)
            throw new GraphException(g.node() + ": gradients through the batch mean/variance outputs are not "
                    + "supported (they are meant only for the running-statistics update)");
        Value dy = g.gradOutput(0);
        if (dy == null) return Op.noGradient(g);
        GraphBuilder b = g.builder();
        List<Value> d = b.applyAll("bn_backward", new BatchNorm2dBackward(eps),
                g.input(0), g.input(1), g.output(1), g.output(2), dy);
        return Arrays.asList(g.needsGrad(0) ? d.get(0) : null, g.needsGrad(1) ? d.get(1) : null,
                g.needsGrad(2) ? d.get(2) : null);
    }

    /** Two passes for the statistics (sum, squared deviations), then scale and shift. */
    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 6 * inputs.getFirst().size(); }

    /** Validates eps and an NCHW input with at least one element per channel; returns C. */
    static int checkInput(double eps, Shape x) {
        ShapeException.require(eps > 0 && Double.isFinite(eps), "eps must be finite and > 0, got %s", eps);
        ShapeException.require(x.rank() == 4, "input must be NCHW (rank 4), got rank %d", x.rank());
        long perChannel = (long) x.dim(0) * x.dim(2) * x.dim(3);
        ShapeException.require(perChannel >= 1,
                "statistics need N*H*W >= 1 values per channel, got N*H*W = %d*%d*%d = %d",
                x.dim(0), x.dim(2), x.dim(3), perChannel);
        return x.dim(1);
    }

    static void checkChannelVector(String what, Shape s, int c) {
        ShapeException.require(s.equals(Shape.of(c)), "%s must have shape [C] = [%d], got %s", what, c, s);
    }
}
