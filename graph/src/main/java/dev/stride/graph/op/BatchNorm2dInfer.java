package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/**
 * Batch normalisation with running statistics (inference mode): inputs x[N,C,H,W], gamma, beta, runningMean,
 * runningVar (all [C]); y = gamma*(x - runningMean)/sqrt(runningVar + eps) + beta, a per-channel affine map.
 * Differentiable in x, gamma and beta (frozen layers, saliency in eval mode); the running statistics get none.
 */
public record BatchNorm2dInfer(double eps) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 5);
        int c = BatchNorm2dTrain.checkInput(eps, inputs.getFirst());
        String[] names = {"gamma", "beta", "runningMean", "runningVar"};
        for (int i = 0; i < 4; i++) BatchNorm2dTrain.checkChannelVector(names[i], inputs.get(i + 1), c);
        return List.of(inputs.getFirst());
    }

    @Override public List<Value> backward(GradContext g) {
        if (!g.needsGrad(0) && !g.needsGrad(1) && !g.needsGrad(2)) return Op.noGradient(g);
        GraphBuilder b = g.builder();
        List<Value> d = b.applyAll("bn_infer_backward", new BatchNorm2dInferBackward(eps),
                g.input(0), g.input(1), g.input(3), g.input(4), g.gradOutput(0));
        return Arrays.asList(g.needsGrad(0) ? d.get(0) : null, g.needsGrad(1) ? d.get(1) : null,
                g.needsGrad(2) ? d.get(2) : null, null, null);
    }

    /** A per-channel scale and shift once the channel constants are known. */
    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 2 * inputs.getFirst().size(); }
}
