package dev.stride.zoo;

import dev.stride.graph.ConvSpec;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Value;

/**
 * VGG (Simonyan and Zisserman, 2015) as torchvision defines it ({@code torchvision.models.vgg11/16}, optionally
 * {@code _bn}), with its parameter names: {@code features.<i>} 3x3 convolutions (padding 1, with bias; with batch
 * norm after each when {@code batchNorm}), ReLU and 2x2 max pools, numbered as torchvision's
 * {@code nn.Sequential} numbers them (a ReLU and a pool take an index too); adaptive average pool to 7x7;
 * {@code classifier.0} (25088 -> 4096), ReLU, dropout 0.5, {@code classifier.3} (4096 -> 4096), ReLU, dropout 0.5,
 * {@code classifier.6} (4096 -> classes).
 *
 * <p>Inputs of at least 32x32 work (five pools halve it to 1x1; the 7x7 adaptive pool then repeats that pixel,
 * as PyTorch's does).
 */
public final class Vgg implements ImageClassifier {
    /** A 2x2 max pool in a configuration list. */
    private static final int M = 0;
    /** torchvision's configuration "A". */
    private static final int[] VGG11 = {64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M};
    /** torchvision's configuration "D". */
    private static final int[] VGG16 = {64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M};

    private final String name;
    private final int[] config;
    private final boolean batchNorm;
    private final int classes;
    private final int hidden;

    private Vgg(String name, int[] config, boolean batchNorm, int classes, int hidden) {
        if (classes < 1 || hidden < 1)
            throw new IllegalArgumentException("classes and classifier width must be >= 1, got " + classes + ", " + hidden);
        this.name = name;
        this.config = config;
        this.batchNorm = batchNorm;
        this.classes = classes;
        this.hidden = hidden;
    }

    /** 132,863,336 parameters with 1000 classes (132,868,840 with batch norm). */
    public static Vgg vgg11(int classes, boolean batchNorm) {
        return new Vgg(batchNorm ? "vgg11_bn" : "vgg11", VGG11, batchNorm, classes, 4096);
    }

    /** 138,357,544 parameters with 1000 classes (138,365,992 with batch norm). */
    public static Vgg vgg16(int classes, boolean batchNorm) {
        return new Vgg(batchNorm ? "vgg16_bn" : "vgg16", VGG16, batchNorm, classes, 4096);
    }

    /**
     * The same network with hidden classifier layers of {@code width} instead of 4096 (not a torchvision model:
     * for quick runs, where the 120 million weights of the full classifier would dominate).
     */
    public Vgg withClassifierWidth(int width) { return new Vgg(name, config, batchNorm, classes, width); }

    public static Vgg vgg11() { return vgg11(1000, false); }

    public static Vgg vgg16() { return vgg16(1000, false); }

    @Override public String name() { return name; }

    @Override public int classes() { return classes; }

    @Override public Value logits(GraphBuilder b, Value images) {
        Value x = images;
        int index = 0;                                   // torchvision's index in the features Sequential
        for (int c : config) {
            if (c == M) {
                x = b.maxPool2d(x, 2, 2);
                index++;
                continue;
            }
            x = b.conv2d("features." + index++, x, c, 3, ConvSpec.defaults().pad(1));
            if (batchNorm) x = b.batchNorm2d("features." + index++, x);
            x = b.relu(x);
            index++;
        }
        x = b.flatten(b.adaptiveAvgPool2d(x, 7, 7));
        x = b.dropout(b.relu(b.dense("classifier.0", x, hidden)), 0.5);
        x = b.dropout(b.relu(b.dense("classifier.3", x, hidden)), 0.5);
        return b.dense("classifier.6", x, classes);
    }
}
