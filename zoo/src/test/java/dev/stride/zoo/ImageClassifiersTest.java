package dev.stride.zoo;

import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.Graph;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The zoo's ImageNet classifiers: shapes and parameter counts at 224x224 (graph builds only), the PyTorch names, and
 * one forward run of each on a tiny input on the reference backend.
 */
class ImageClassifiersTest {
    private static final Compiler.Target REF = Compiler.Target.reference();

    /**
     * Parameter counts of the PyTorch / Keras models with 1000 classes: torchvision's
     * {@code sum(p.numel() for p in m.parameters())} (GoogLeNet with {@code aux_logits=False}), and MobileNet v1's
     * trainable parameters in Keras (4,253,864 in all less 21,888 batch-norm moving statistics).
     */
    static Stream<Arguments> published() {
        return Stream.of(
                Arguments.of("resnet18", 11_689_512L),
                Arguments.of("resnet34", 21_797_672L),
                Arguments.of("resnet50", 25_557_032L),
                Arguments.of("vgg11", 132_863_336L),
                Arguments.of("vgg11_bn", 132_868_840L),
                Arguments.of("vgg16", 138_357_544L),
                Arguments.of("vgg16_bn", 138_365_992L),
                Arguments.of("alexnet", 61_100_840L),
                Arguments.of("googlenet", 6_624_904L),
                Arguments.of("mobilenet_v1", 4_231_976L));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("published")
    void parameterCountAndOutputShapeAt224(String name, long expected) {
        ImageClassifier m = Zoo.classifier(name);
        for (boolean training : new boolean[] {false, true}) {
            Graph g = (training ? m.trainingPlan(1, 224, REF) : m.inferencePlan(1, 224, REF)).graph();
            assertEquals(Shape.of(1, 1000), g.outputs().get(Classifier.LOGITS).shape(), name);
            assertEquals(expected, ImageClassifier.parameterCount(g), name + (training ? " training" : " inference"));
        }
    }

    /** Intermediate shapes at 224x224, batch 1: each network's stages have the sizes of the papers. */
    @Test
    void stageShapesAt224() {
        Map<String, Map<String, Shape>> expect = Map.of(
                "resnet18", Map.of("conv1", Shape.of(1, 64, 112, 112), "layer1.1/conv2", Shape.of(1, 64, 56, 56),
                        "layer2.0/downsample.0", Shape.of(1, 128, 28, 28), "layer3.1/conv2", Shape.of(1, 256, 14, 14),
                        "layer4.1/conv2", Shape.of(1, 512, 7, 7)),
                "resnet50", Map.of("layer1.0/conv3", Shape.of(1, 256, 56, 56), "layer4.2/conv3", Shape.of(1, 2048, 7, 7),
                        "layer2.0/conv2", Shape.of(1, 128, 28, 28)),
                "vgg16", Map.of("features.0", Shape.of(1, 64, 224, 224), "features.10", Shape.of(1, 256, 56, 56),
                        "features.28", Shape.of(1, 512, 14, 14)),
                "alexnet", Map.of("features.0", Shape.of(1, 64, 55, 55), "features.3", Shape.of(1, 192, 27, 27),
                        "features.10", Shape.of(1, 256, 13, 13)),
                "googlenet", Map.of("conv3/conv", Shape.of(1, 192, 56, 56), "inception3b/concat", Shape.of(1, 480, 28, 28),
                        "inception4e/concat", Shape.of(1, 832, 14, 14), "inception5b/concat", Shape.of(1, 1024, 7, 7)),
                "mobilenet_v1", Map.of("conv1", Shape.of(1, 32, 112, 112), "conv_dw_2", Shape.of(1, 64, 56, 56),
                        "conv_pw_13", Shape.of(1, 1024, 7, 7)));
        expect.forEach((name, shapes) -> {
            Graph g = Zoo.classifier(name).inferencePlan(1, 224, REF).graph();
            shapes.forEach((node, shape) -> assertEquals(shape, g.value(node).shape(), name + " " + node));
        });
    }

    @Test
    void mobileNetIsDepthwiseSeparable() {
        Graph g = new MobileNetV1().inferencePlan(1, 224, REF).graph();
        for (int i = 1; i <= 13; i++) {
            int c = g.value("conv_dw_" + i).shape().dim(1);
            assertEquals(Shape.of(c, 1, 3, 3), g.value("conv_dw_" + i + "/weight").shape(), "block " + i);
            assertEquals(1, g.value("conv_pw_" + i + "/weight").shape().dim(2));
        }
    }

    /** torchvision's resnet18 state dict: 62 parameters and 40 running statistics (without num_batches_tracked). */
    @Test
    void resnet18NamesAreTorchvisionKeys() {
        Graph g = ResNet.resnet18().inferencePlan(1, 224, REF).graph();
        Set<String> params = g.params().stream().map(v -> ImageClassifier.torchName(v.name())).collect(Collectors.toSet());
        Set<String> states = g.states().stream().map(v -> ImageClassifier.torchName(v.name())).collect(Collectors.toSet());
        assertEquals(62, params.size());
        assertEquals(40, states.size());
        for (String k : new String[] {"conv1.weight", "bn1.weight", "bn1.bias", "layer1.0.conv1.weight",
                "layer1.1.bn2.bias", "layer2.0.downsample.0.weight", "layer2.0.downsample.1.weight",
                "layer4.1.conv2.weight", "fc.weight", "fc.bias"})
            assertTrue(params.contains(k), k);
        for (String k : new String[] {"bn1.running_mean", "layer3.0.downsample.1.running_var", "layer4.1.bn2.running_mean"})
            assertTrue(states.contains(k), k);
        assertEquals(Shape.of(128, 64, 1, 1), g.value("layer2.0/downsample.0/weight").shape());
    }

    @Test
    void googlenetAndVggNamesAreTorchvisionKeys() {
        Graph goog = new GoogLeNet().inferencePlan(1, 224, REF).graph();
        assertEquals(Shape.of(32, 192, 1, 1), goog.value("inception3a/branch4.1/conv/weight").shape());
        assertEquals(Shape.of(32, 16, 3, 3), goog.value("inception3a/branch3.1/conv/weight").shape());
        assertEquals(Shape.of(208), goog.value("inception4a/branch2.1/bn/running_var").shape());
        assertEquals(Shape.of(1000, 1024), goog.value("fc/weight").shape());
        Graph vgg = Vgg.vgg16().inferencePlan(1, 224, REF).graph();
        assertEquals(Shape.of(512, 512, 3, 3), vgg.value("features.28/weight").shape());
        assertEquals(Shape.of(4096, 25088), vgg.value("classifier.0/weight").shape());
        assertEquals(Shape.of(1000), vgg.value("classifier.6/bias").shape());
        Graph vggBn = Vgg.vgg16(1000, true).inferencePlan(1, 224, REF).graph();
        assertEquals(Shape.of(64), vggBn.value("features.1/running_mean").shape());      // conv 0, bn 1, relu 2
        assertEquals(Shape.of(512, 512, 3, 3), vggBn.value("features.40/weight").shape());
    }

    /** The smallest comfortable input of each model: five stride-2 stages need 32; AlexNet's third pool needs 63. */
    static int tinySize(String name) { return name.equals("alexnet") ? 64 : 32; }

    /**
     * The model with 10 classes; VGG and AlexNet with 256-wide hidden classifier layers, whose 4096-wide ones (over
     * 100 million weights to initialise) would make the run ten times slower and test nothing the 224x224
     * parameter count does not.
     */
    static ImageClassifier tiny(String name) {
        return switch (Zoo.classifier(name, 10)) {
            case Vgg v -> v.withClassifierWidth(256);
            case AlexNet a -> a.withClassifierWidth(256);
            case ImageClassifier m -> m;
        };
    }

    /**
     * Each network runs end to end on the reference backend: two different images give finite logits of the right
     * shape that differ (a wiring mistake that drops the input, or a NaN from a bad shape, fails here). ResNet-34,
     * VGG-11 and VGG-16 with batch norm are left out: the code paths they take are those of ResNet-18, VGG-16 and
     * VGG-11 with batch norm, and their shapes are checked at 224.
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"resnet18", "resnet50", "vgg16", "vgg11_bn", "alexnet",
            "googlenet", "mobilenet_v1"})
    void tinyForwardOnTheReferenceBackend(String name) {
        ImageClassifier m = tiny(name);
        int size = tinySize(name), n = 2;
        Plan plan = m.inferencePlan(n, size, REF);
        float[] x = new float[n * 3 * size * size];
        SplittableRandom rnd = new SplittableRandom(7);
        for (int i = 0; i < x.length; i++) x[i] = (float) (rnd.nextDouble() * 2 - 1);
        try (Session s = Session.open(plan, "reference", SessionOptions.defaults().withThreads(1))) {
            Tensor logits = s.run(Map.of(Classifier.IMAGES, Tensor.of(Shape.of(n, 3, size, size), x))).get(Classifier.LOGITS);
            assertEquals(Shape.of(n, 10), logits.shape());
            float[] y = logits.toFloatArray();
            boolean differ = false;
            for (int j = 0; j < 10; j++) {
                assertTrue(Float.isFinite(y[j]) && Float.isFinite(y[10 + j]), name + ": logit " + y[j] + ", " + y[10 + j]);
                differ |= y[j] != y[10 + j];
            }
            assertTrue(differ, name + ": both images gave the same logits");
        }
    }

    /** The training form builds for every model (batch statistics, dropout on, gradients of every parameter). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("published")
    void trainingPlanBuilds(String name, long ignored) {
        ImageClassifier m = tiny(name);
        Plan p = m.trainingPlan(2, tinySize(name), REF);
        Graph g = p.graph();
        assertEquals(Shape.SCALAR, g.outputs().get(Classifier.LOSS).shape());
        Set<String> updated = g.updates().stream().map(u -> u.target().name()).collect(Collectors.toSet());
        for (Value param : g.params()) assertTrue(updated.contains(param.name()), name + ": " + param.name() + " not trained");
        assertNotEquals(0, g.updates().size());
    }
}
