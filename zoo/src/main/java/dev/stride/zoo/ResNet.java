package dev.stride.zoo;

import dev.stride.graph.ConvSpec;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.PoolSpec;
import dev.stride.graph.Value;

import java.util.Arrays;

/**
 * ResNet (He et al., 2016) as torchvision defines it ({@code torchvision.models.resnet18/34/50}), with its
 * parameter names: stem {@code conv1} (7x7 stride 2, no bias), {@code bn1}, ReLU, 3x3 stride-2 max pool (padding
 * 1); four stages {@code layer1} .. {@code layer4} of 64, 128, 256, 512 planes, the first block of stages 2-4 with
 * stride 2 ({@link ResNetBlocks#basicBlock} for 18/34, {@link ResNetBlocks#bottleneck} for 50, block {@code i} of
 * stage {@code s} named {@code layer<s>.<i>}); global average pool, {@code fc}. Batch norm eps 1e-5.
 *
 * <p>At 224x224 the stages run at 56, 28, 14 and 7 pixels. Any input of at least 32x32 works (the last stage is then
 * 1x1; training batch norm then needs a batch of at least 2).
 */
public final class ResNet implements ImageClassifier {
    public enum Block { BASIC, BOTTLENECK }

    private static final int[] PLANES = {64, 128, 256, 512};

    private final String name;
    private final Block block;
    private final int[] blocks;
    private final int classes;

    public ResNet(String name, Block block, int[] blocksPerStage, int classes) {
        if (blocksPerStage.length != 4 || Arrays.stream(blocksPerStage).anyMatch(n -> n < 1))
            throw new IllegalArgumentException("ResNet needs 4 stages of >= 1 block, got " + Arrays.toString(blocksPerStage));
        if (classes < 1) throw new IllegalArgumentException("classes must be >= 1, got " + classes);
        this.name = name;
        this.block = block;
        this.blocks = blocksPerStage.clone();
        this.classes = classes;
    }

    /** 11,689,512 parameters with 1000 classes. */
    public static ResNet resnet18(int classes) { return new ResNet("resnet18", Block.BASIC, new int[] {2, 2, 2, 2}, classes); }

    /** 21,797,672 parameters with 1000 classes. */
    public static ResNet resnet34(int classes) { return new ResNet("resnet34", Block.BASIC, new int[] {3, 4, 6, 3}, classes); }

    /** 25,557,032 parameters with 1000 classes. */
    public static ResNet resnet50(int classes) {
        return new ResNet("resnet50", Block.BOTTLENECK, new int[] {3, 4, 6, 3}, classes);
    }

    public static ResNet resnet18() { return resnet18(1000); }

    public static ResNet resnet34() { return resnet34(1000); }

    public static ResNet resnet50() { return resnet50(1000); }

    @Override public String name() { return name; }

    @Override public int classes() { return classes; }

    public Block block() { return block; }

    @Override public Value logits(GraphBuilder b, Value images) {
        Value x = b.conv2d("conv1", images, 64, 7, ConvSpec.defaults().stride(2).pad(3).bias(false));
        x = b.relu(b.batchNorm2d("bn1", x));
        x = b.maxPool2d(x, PoolSpec.of(3).stride(2).pad(1));
        for (int stage = 0; stage < 4; stage++) {
            for (int i = 0; i < blocks[stage]; i++) {
                String n = "layer" + (stage + 1) + "." + i;
                int stride = stage > 0 && i == 0 ? 2 : 1;
                x = block == Block.BASIC
                        ? ResNetBlocks.basicBlock(b, n, x, PLANES[stage], stride)
                        : ResNetBlocks.bottleneck(b, n, x, PLANES[stage], stride);
            }
        }
        x = b.flatten(b.globalAvgPool(x));
        return b.dense("fc", x, classes);
    }
}
