package dev.stride.engine.reference;

import dev.stride.engine.GradCheck;
import dev.stride.graph.ConvSpec;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;

/**
 * Gradients through whole blocks, where autodiff must sum gradients arriving along several paths (residual
 * shortcut, concat branches) and chain many ops: checked against central differences in double.
 */
class CompositeGradientTest {
    @Test
    void residualBlockWithBatchNorm() {
        // x, w1, w2 as inputs so that the gradient with respect to the input and both filters is checked.
        Shape x = Shape.of(2, 3, 5, 5), w1 = Shape.of(3, 3, 3, 3), w2 = Shape.of(3, 3, 3, 3);
        GradCheck.check(List.of(x, w1, w2), GradCheck.randomInputs(List.of(x, w1, w2), 11), (b, xs) -> {
            ConvSpec same = ConvSpec.defaults().pad(1);
            Value y = b.conv2d(xs.get(0), xs.get(1), null, same);
            y = b.tanh(b.batchNorm2d("bn1", y));
            y = b.conv2d(y, xs.get(2), null, same);
            y = b.batchNorm2d("bn2", y);
            return List.of(b.softplus(b.add(y, xs.get(0))));
        }, 11, 1e-6, 1e-5, 40, Set.of(0, 1, 2));
    }

    @Test
    void inceptionStyleConcatOfBranches() {
        Shape x = Shape.of(1, 2, 6, 6);
        GradCheck.check(List.of(x), GradCheck.randomInputs(List.of(x), 5), (b, xs) -> {
            Value in = xs.get(0);
            Value a = b.conv2d("a", in, 3, 1, ConvSpec.defaults());
            Value c = b.conv2d("c", in, 2, 3, ConvSpec.defaults().pad(1));
            Value p = b.avgPool2d(in, dev.stride.graph.PoolSpec.of(3).stride(1).pad(1));
            Value cat = b.concat(1, a, c, p);
            Value pooled = b.globalAvgPool(b.elu(cat, 1.0));
            return List.of(b.logSoftmax(b.flatten(pooled), 1));
        }, 5, 1e-6, 1e-5, 36, null);
    }
}
