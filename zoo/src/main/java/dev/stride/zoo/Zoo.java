package dev.stride.zoo;

import java.util.List;

/** The image classifiers of the zoo by name, for tools and benchmarks. */
public final class Zoo {
    private Zoo() {}

    /** Every name {@link #classifier} knows. */
    public static final List<String> CLASSIFIERS = List.of("resnet18", "resnet34", "resnet50", "vgg11", "vgg11_bn",
            "vgg16", "vgg16_bn", "alexnet", "googlenet", "mobilenet_v1");

    /** The classifier called {@code name} (one of {@link #CLASSIFIERS}) with {@code classes} outputs. */
    public static ImageClassifier classifier(String name, int classes) {
        return switch (name) {
            case "resnet18" -> ResNet.resnet18(classes);
            case "resnet34" -> ResNet.resnet34(classes);
            case "resnet50" -> ResNet.resnet50(classes);
            case "vgg11" -> Vgg.vgg11(classes, false);
            case "vgg11_bn" -> Vgg.vgg11(classes, true);
            case "vgg16" -> Vgg.vgg16(classes, false);
            case "vgg16_bn" -> Vgg.vgg16(classes, true);
            case "alexnet" -> new AlexNet(classes);
            case "googlenet" -> new GoogLeNet(classes);
            case "mobilenet_v1" -> new MobileNetV1(classes);
            default -> throw new IllegalArgumentException("no classifier '" + name + "' in the zoo; known: " + CLASSIFIERS);
        };
    }

    /** With ImageNet's 1000 classes. */
    public static ImageClassifier classifier(String name) { return classifier(name, 1000); }
}
