package dev.stride.zoo;

import dev.stride.graph.ConvSpec;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Value;

/**
 * LeNet-5 (LeCun et al., 1998) as it is usually trained today: ReLU and max pooling in place of the scaled tanh
 * and trainable subsampling, a softmax classifier in place of the RBF output layer. Input [N, 1, 28, 28],
 * padded by 2 in the first convolution as the original 32x32 input was; output logits [N, 10].
 */
public final class LeNet5 {
    private LeNet5() {}

    public static final int CLASSES = 10;

    public static Value logits(GraphBuilder b, Value images) {
        Value x = images;
        x = b.relu(b.conv2d("c1", x, 6, 5, ConvSpec.defaults().pad(2)));   // [N, 6, 28, 28]
        x = b.maxPool2d(x, 2, 2);                                           // [N, 6, 14, 14]
        x = b.relu(b.conv2d("c3", x, 16, 5, ConvSpec.defaults()));          // [N, 16, 10, 10]
        x = b.maxPool2d(x, 2, 2);                                           // [N, 16, 5, 5]
        x = b.flatten(x);                                                   // [N, 400]
        x = b.relu(b.dense("f5", x, 120));
        x = b.relu(b.dense("f6", x, 84));
        return b.dense("out", x, CLASSES);
    }
}
