package dev.stride.zoo;

import dev.stride.graph.ConvSpec;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Value;

/** Residual blocks of ResNet (He et al., 2016), named as torchvision names them. */
public final class ResNetBlocks {
    private ResNetBlocks() {}

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
            Value shortcut = x;
            if (stride != 1 || inChannels != outChannels) {
                shortcut = b.conv2d("downsample.0", x, outChannels, 1, ConvSpec.defaults().stride(stride).bias(false));
                shortcut = b.batchNorm2d("downsample.1", shortcut);
            }
            return b.relu(b.add(y, shortcut));
        }
    }
}
