package dev.stride.zoo;

import dev.stride.graph.ConvSpec;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Value;

/**
 * AlexNet as torchvision defines it ({@code torchvision.models.alexnet}: the one-GPU variant of "One weird trick",
 * Krizhevsky 2014, 64-192-384-256-256 channels, no local response normalisation), with its parameter names:
 * {@code features.0} (11x11 stride 4, padding 2), ReLU, 3x3 stride-2 max pool, {@code features.3} (5x5, padding
 * 2), ReLU, pool, {@code features.6}, {@code features.8}, {@code features.10} (3x3, padding 1) each with ReLU,
 * pool; adaptive average pool to 6x6; dropout 0.5, {@code classifier.1} (9216 -> 4096), ReLU, dropout 0.5,
 * {@code classifier.4} (4096 -> 4096), ReLU, {@code classifier.6} (4096 -> classes).
 *
 * <p>The smallest input is 63x63 (the third pool needs a 3x3 map).
 */
public final class AlexNet implements ImageClassifier {
    private final int classes;
    private final int hidden;

    /** {@code hidden}: width of the two hidden classifier layers, 4096 in AlexNet. */
    public AlexNet(int classes, int hidden) {
        if (classes < 1 || hidden < 1)
            throw new IllegalArgumentException("classes and classifier width must be >= 1, got " + classes + ", " + hidden);
        this.classes = classes;
        this.hidden = hidden;
    }

    public AlexNet(int classes) { this(classes, 4096); }

    /** 61,100,840 parameters. */
    public AlexNet() { this(1000); }

    /**
     * The same network with hidden classifier layers of {@code width} instead of 4096 (not torchvision's model: for
     * quick runs, where the 54 million weights of the full classifier would dominate).
     */
    public AlexNet withClassifierWidth(int width) { return new AlexNet(classes, width); }

    @Override public String name() { return "alexnet"; }

    @Override public int classes() { return classes; }

    @Override public Value logits(GraphBuilder b, Value images) {
        Value x = b.relu(b.conv2d("features.0", images, 64, 11, ConvSpec.defaults().stride(4).pad(2)));
        x = b.maxPool2d(x, 3, 2);
        x = b.relu(b.conv2d("features.3", x, 192, 5, ConvSpec.defaults().pad(2)));
        x = b.maxPool2d(x, 3, 2);
        x = b.relu(b.conv2d("features.6", x, 384, 3, ConvSpec.defaults().pad(1)));
        x = b.relu(b.conv2d("features.8", x, 256, 3, ConvSpec.defaults().pad(1)));
        x = b.relu(b.conv2d("features.10", x, 256, 3, ConvSpec.defaults().pad(1)));
        x = b.maxPool2d(x, 3, 2);
        x = b.flatten(b.adaptiveAvgPool2d(x, 6, 6));
        x = b.relu(b.dense("classifier.1", b.dropout(x, 0.5), hidden));
        x = b.relu(b.dense("classifier.4", b.dropout(x, 0.5), hidden));
        return b.dense("classifier.6", x, classes);
    }
}
