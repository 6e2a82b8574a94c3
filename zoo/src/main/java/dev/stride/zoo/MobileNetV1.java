package dev.stride.zoo;

import dev.stride.graph.ConvSpec;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Value;

/**
 * MobileNet v1 (Howard et al., 2017), width 1.0, for 224x224 inputs: a 3x3 stride-2 convolution to 32 channels,
 * then 13 depthwise separable blocks (3x3 depthwise convolution, {@code groups = C}, then 1x1 pointwise
 * convolution, each followed by batch norm and ReLU), global average pool, dropout 0.001, dense classifier.
 * 4,231,976 parameters with 1000 classes (the trainable parameters of Keras' {@code MobileNet()}).
 *
 * <p>torchvision has no MobileNet v1; the widely used pretrained weights are Keras', so the layout and names
 * follow {@code keras.applications.MobileNet}: {@code conv1}, {@code conv1_bn}, {@code conv_dw_<i>},
 * {@code conv_dw_<i>_bn}, {@code conv_pw_<i>}, {@code conv_pw_<i>_bn} for blocks i = 1..13, and {@code conv_preds}
 * (Keras' 1x1 convolution on the pooled 1x1 map, here the equivalent dense layer: its weight is Keras' kernel
 * reshaped to [classes, 1024]). No convolution has a bias; batch norm eps 0.001, as Keras. A stride-2 convolution
 * pads one row and column at the bottom and right only, as Keras' {@code ZeroPadding2D(((0, 1), (0, 1)))} does,
 * so that imported weights see the same windows. Keras uses ReLU6; the paper, and this model, plain ReLU (the DSL
 * has no ReLU6).
 *
 * <p>Inputs of at least 32x32 work (five stride-2 layers).
 */
public final class MobileNetV1 implements ImageClassifier {
    private static final double BN_EPS = 1e-3;
    /** Pointwise output channels and depthwise stride of blocks 1..13. */
    private static final int[][] BLOCKS = {
            {64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},
            {512, 1}, {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};

    private final int classes;

    public MobileNetV1(int classes) {
        if (classes < 1) throw new IllegalArgumentException("classes must be >= 1, got " + classes);
        this.classes = classes;
    }

    public MobileNetV1() { this(1000); }

    @Override public String name() { return "mobilenet_v1"; }

    @Override public int classes() { return classes; }

    /** 3x3 padding: 1 on every side at stride 1; Keras' bottom/right only at stride 2. */
    private static ConvSpec conv3x3(int stride, int groups) {
        ConvSpec s = ConvSpec.defaults().stride(stride).groups(groups).bias(false);
        return stride == 1 ? s.pad(1) : s.pad(0, 0, 1, 1);
    }

    @Override public Value logits(GraphBuilder b, Value images) {
        Value x = b.conv2d("conv1", images, 32, 3, conv3x3(2, 1));
        x = b.relu(b.batchNorm2d("conv1_bn", x, BN_EPS, 0.1));
        for (int i = 0; i < BLOCKS.length; i++) {
            String id = Integer.toString(i + 1);
            int c = x.shape().dim(1);
            x = b.conv2d("conv_dw_" + id, x, c, 3, conv3x3(BLOCKS[i][1], c));
            x = b.relu(b.batchNorm2d("conv_dw_" + id + "_bn", x, BN_EPS, 0.1));
            x = b.conv2d("conv_pw_" + id, x, BLOCKS[i][0], 1, ConvSpec.defaults().bias(false));
            x = b.relu(b.batchNorm2d("conv_pw_" + id + "_bn", x, BN_EPS, 0.1));
        }
        x = b.dropout(b.flatten(b.globalAvgPool(x)), 1e-3);
        return b.dense("conv_preds", x, classes);
    }
}
