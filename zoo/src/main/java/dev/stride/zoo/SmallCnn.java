package dev.stride.zoo;

import dev.stride.graph.ConvSpec;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Value;

/**
 * A small VGG-style CNN for 28x28 grey images (MNIST, Fashion-MNIST): two conv-BN-ReLU-pool stages (32 and 64
 * channels of 3x3) and a 128-unit hidden layer with dropout. About 8.6 MFLOP per image forward (LeNet-5: 0.6),
 * 421,642 parameters. Input [N, 1, 28, 28], output logits [N, 10].
 */
public final class SmallCnn {
    private SmallCnn() {}

    public static final int CLASSES = 10;

    public static Value logits(GraphBuilder b, Value images) {
        Value x = images;
        x = b.relu(b.batchNorm2d("bn1", b.conv2d("conv1", x, 32, 3, ConvSpec.defaults().pad(1))));   // [N, 32, 28, 28]
        x = b.maxPool2d(x, 2, 2);                                                                   // [N, 32, 14, 14]
        x = b.relu(b.batchNorm2d("bn2", b.conv2d("conv2", x, 64, 3, ConvSpec.defaults().pad(1))));   // [N, 64, 14, 14]
        x = b.maxPool2d(x, 2, 2);                                                                   // [N, 64, 7, 7]
        x = b.flatten(x);                                                                           // [N, 3136]
        x = b.dropout(b.relu(b.dense("fc1", x, 128)), 0.3);
        return b.dense("out", x, CLASSES);
    }
}
