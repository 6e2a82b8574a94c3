package dev.stride.zoo;

import dev.stride.graph.ConvSpec;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.PoolSpec;
import dev.stride.graph.Value;

/**
 * GoogLeNet / Inception v1 (Szegedy et al., 2015) as torchvision defines it ({@code torchvision.models.googlenet}
 * with {@code aux_logits=False, transform_input=False}), with its parameter names. This is not quite the paper's
 * network, and the differences are torchvision's:
 * <ul>
 * <li>every convolution is torchvision's {@code BasicConv2d}: conv without bias ({@code <name>.conv}), batch norm
 *     with eps 0.001 ({@code <name>.bn}), ReLU; the paper had biases and no batch norm (and local response norm);
 * <li>the "5x5" branch of each inception module uses a 3x3 convolution (a known torchvision quirk kept for its
 *     pretrained weights);
 * <li>no auxiliary classifiers (they only serve training and are dropped at inference).
 * </ul>
 * With 1000 classes it has 6,624,904 parameters.
 *
 * <p>Layout: {@code conv1} 7x7 stride 2 (64), 3x3 stride-2 max pool (ceil mode), {@code conv2} 1x1 (64),
 * {@code conv3} 3x3 (192), pool; {@code inception3a}, {@code 3b}, pool, {@code 4a} .. {@code 4e}, 2x2 pool,
 * {@code 5a}, {@code 5b}; global average pool, dropout 0.2, {@code fc}. An inception module concatenates on
 * channels {@code branch1} (1x1), {@code branch2} (1x1 {@code .0} then 3x3 {@code .1}), {@code branch3} (1x1
 * {@code .0} then 3x3 {@code .1}) and {@code branch4} (3x3 stride-1 max pool, then 1x1 {@code .1}).
 * Inputs of at least 32x32 work.
 */
public final class GoogLeNet implements ImageClassifier {
    private static final double BN_EPS = 1e-3;

    private final int classes;

    public GoogLeNet(int classes) {
        if (classes < 1) throw new IllegalArgumentException("classes must be >= 1, got " + classes);
        this.classes = classes;
    }

    public GoogLeNet() { this(1000); }

    @Override public String name() { return "googlenet"; }

    @Override public int classes() { return classes; }

    private static final PoolSpec POOL = PoolSpec.of(3).stride(2).ceilMode(true);

    @Override public Value logits(GraphBuilder b, Value images) {
        Value x = basicConv(b, "conv1", images, 64, 7, 2, 3);
        x = b.maxPool2d(x, POOL);
        x = basicConv(b, "conv2", x, 64, 1, 1, 0);
        x = basicConv(b, "conv3", x, 192, 3, 1, 1);
        x = b.maxPool2d(x, POOL);
        x = inception(b, "inception3a", x, 64, 96, 128, 16, 32, 32);
        x = inception(b, "inception3b", x, 128, 128, 192, 32, 96, 64);
        x = b.maxPool2d(x, POOL);
        x = inception(b, "inception4a", x, 192, 96, 208, 16, 48, 64);
        x = inception(b, "inception4b", x, 160, 112, 224, 24, 64, 64);
        x = inception(b, "inception4c", x, 128, 128, 256, 24, 64, 64);
        x = inception(b, "inception4d", x, 112, 144, 288, 32, 64, 64);
        x = inception(b, "inception4e", x, 256, 160, 320, 32, 128, 128);
        x = b.maxPool2d(x, PoolSpec.of(2).stride(2).ceilMode(true));
        x = inception(b, "inception5a", x, 256, 160, 320, 32, 128, 128);
        x = inception(b, "inception5b", x, 384, 192, 384, 48, 128, 128);
        x = b.dropout(b.flatten(b.globalAvgPool(x)), 0.2);
        return b.dense("fc", x, classes);
    }

    /** torchvision's BasicConv2d: conv (no bias) {@code name.conv}, batch norm {@code name.bn}, ReLU. */
    private static Value basicConv(GraphBuilder b, String name, Value x, int out, int k, int stride, int pad) {
        try (var s = b.scope(name)) {
            Value y = b.conv2d("conv", x, out, k, ConvSpec.defaults().stride(stride).pad(pad).bias(false));
            return b.relu(b.batchNorm2d("bn", y, BN_EPS, 0.1));
        }
    }

    /** An inception module; output channels ch1x1 + ch3x3 + ch5x5 + poolProj. */
    private static Value inception(GraphBuilder b, String name, Value x, int ch1x1, int ch3x3red, int ch3x3,
                                   int ch5x5red, int ch5x5, int poolProj) {
        try (var s = b.scope(name)) {
            Value b1 = basicConv(b, "branch1", x, ch1x1, 1, 1, 0);
            Value b2 = basicConv(b, "branch2.1", basicConv(b, "branch2.0", x, ch3x3red, 1, 1, 0), ch3x3, 3, 1, 1);
            // torchvision's "5x5" branch is 3x3 (see the class comment).
            Value b3 = basicConv(b, "branch3.1", basicConv(b, "branch3.0", x, ch5x5red, 1, 1, 0), ch5x5, 3, 1, 1);
            Value pooled = b.maxPool2d(x, PoolSpec.of(3).stride(1).pad(1).ceilMode(true));
            Value b4 = basicConv(b, "branch4.1", pooled, poolProj, 1, 1, 0);
            return b.concat(1, b1, b2, b3, b4);
        }
    }
}
