package dev.stride.zoo;

import dev.stride.graph.ConvSpec;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Value;

/** Residual blocks of ResNet (He et al., 2016), named as torchvision names them. */
public final class ResNetBlocks {
    private ResNetBlocks() {}

    /** Output channels of a bottleneck block per "planes" (its 1x1 reduction width). */
    public static final int BOTTLENECK_EXPANSION = 4;

    /**
     * The basic block of ResNet-18/34: 3x3 conv, BN, ReLU, 3x3 conv, BN, plus the shortcut (identity, or a
     * strided 1x1 conv and BN when the shape changes), then ReLU.
     */
    public static Value basicBlock(GraphBuilder b, String name, Value x, int outChannels, int stride) {
        int inChannels = x.shape().dim(1);
        try (var s = b.scope(name)) {
            Value y = b.conv2d("conv1", x, outChannels, 3, ConvSpec.defaults().stride(stride).pad(1).bias(false));
            y = b.relu(b.batchNorm2d("bn1", y));
            y = b.conv2d("conv2", y, outChannels, 3, ConvSpec.defaults().pad(1).bias(false));
            y = b.batchNorm2d("bn2", y);
            return b.relu(b.add(y, shortcut(b, x, inChannels, outChannels, stride)));
        }
    }

    /**
     * The bottleneck block of ResNet-50/101/152 as torchvision builds it (ResNet "v1.5": the stride is in the 3x3
     * conv, not in the first 1x1): 1x1 conv to {@code planes}, BN, ReLU, 3x3 conv (stride), BN, ReLU, 1x1 conv to
     * {@code 4 * planes}, BN, plus the shortcut (identity, or a strided 1x1 conv and BN when the shape changes),
     * then ReLU.
     */
    public static Value bottleneck(GraphBuilder b, String name, Value x, int planes, int stride) {
        int inChannels = x.shape().dim(1), outChannels = planes * BOTTLENECK_EXPANSION;
        try (var s = b.scope(name)) {
            Value y = b.conv2d("conv1", x, planes, 1, ConvSpec.defaults().bias(false));
            y = b.relu(b.batchNorm2d("bn1", y));
            y = b.conv2d("conv2", y, planes, 3, ConvSpec.defaults().stride(stride).pad(1).bias(false));
            y = b.relu(b.batchNorm2d("bn2", y));
            y = b.conv2d("conv3", y, outChannels, 1, ConvSpec.defaults().bias(false));
            y = b.batchNorm2d("bn3", y);
            return b.relu(b.add(y, shortcut(b, x, inChannels, outChannels, stride)));
        }
    }

    /** Identity, or torchvision's {@code downsample}: 1x1 conv (stride) and BN, when the shape changes. */
    private static Value shortcut(GraphBuilder b, Value x, int inChannels, int outChannels, int stride) {
        if (stride == 1 && inChannels == outChannels) return x;
        Value s = b.conv2d("downsample.0", x, outChannels, 1, ConvSpec.defaults().stride(stride).bias(false));
        return b.batchNorm2d("downsample.1", s);
    }
}
