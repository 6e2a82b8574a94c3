package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/**
 * Instance normalisation (ONNX InstanceNormalization on NCHW): inputs x[N,C,H,W], scale[C], bias[C];
 * y = scale[c] * (x - mean)/sqrt(var + eps) + bias[c] with the mean and the biased variance of each (n, c)
 * plane. Statistics are always those of the input itself, so training and inference graphs are the same.
 */
public record InstanceNorm2d(double eps) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 3);
        Shape x = inputs.getFirst();
        int c = checkInput(eps, x);
        BatchNorm2dTrain.checkChannelVector("scale", inputs.get(1), c);
        BatchNorm2dTrain.checkChannelVector("bias", inputs.get(2), c);
        return List.of(x);
    }

    /** Validates eps and an NCHW input with at least one element per plane; returns C. */
    static int checkInput(double eps, Shape x) {
        ShapeException.require(eps > 0 && Double.isFinite(eps), "eps must be finite and > 0, got %s", eps);
        ShapeException.require(x.rank() == 4, "input must be NCHW (rank 4), got rank %d", x.rank());
        ShapeException.require(x.dim(2) >= 1 && x.dim(3) >= 1,
                "statistics need H*W >= 1 values per plane, got H = %d, W = %d", x.dim(2), x.dim(3));
        return x.dim(1);
    }

    @Override public List<Value> backward(GradContext g) {
        List<Value> d = g.builder().applyAll("instance_norm_grad", new InstanceNorm2dBackward(eps),
                g.input(0), g.input(1), g.gradOutput(0));
        return Arrays.asList(g.needsGrad(0) ? d.get(0) : null, g.needsGrad(1) ? d.get(1) : null,
                g.needsGrad(2) ? d.get(2) : null);
    }

    /** Two passes for the statistics (sum, squared deviations), then scale and shift. */
    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 6 * inputs.getFirst().size(); }
}
