package dev.stride.bench;

import dev.stride.graph.Shape;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConvLayersTest {
    /** The benchmark's @Param list is exactly the distinct layers the zoo's graphs have at 224, in order. */
    @Test
    void benchmarkParamsListEveryDistinctLayer() throws NoSuchFieldException {
        String[] annotated = ConvLayerBenchmark.class.getField("layer").getAnnotation(org.openjdk.jmh.annotations.Param.class).value();
        List<String> distinct = ConvLayers.all(224).stream().map(ConvLayers.Layer::key).toList();
        assertEquals(distinct, Arrays.asList(annotated));
    }

    /** ResNet-18 at 224: 20 convolutions, 11 distinct; the counts add up. */
    @Test
    void resnet18HasElevenDistinctLayers() {
        List<ConvLayers.Layer> layers = ConvLayers.distinct("resnet18", 224);
        assertEquals(11, layers.size());
        assertEquals(20, layers.stream().mapToInt(ConvLayers.Layer::occurrences).sum());
        ConvLayers.Layer l1 = ConvLayers.find("resnet18:layer1.0.conv1", 224);
        assertEquals(4, l1.occurrences());             // layer1.0.conv1, .conv2, layer1.1.conv1, .conv2
        assertEquals(Shape.of(1, 64, 56, 56), l1.output(1));
        assertEquals(2L * 64 * 56 * 56 * 64 * 9, l1.flops(1));
        assertEquals("64->64 3x3 s1 p1 56x56", l1.describe());
    }

    @Test
    void algorithmsApplyWhereTheCpuBackendsRulesSay() {
        var conv3x3 = ConvLayers.find("vgg16:features.2", 224);
        var strided = ConvLayers.find("resnet18:layer2.0.conv1", 224);
        var downsample = ConvLayers.find("resnet18:layer2.0.downsample.0", 224);
        var pointwise = ConvLayers.find("mobilenet_v1:conv_pw_3", 224);
        var depthwise = ConvLayers.find("mobilenet_v1:conv_dw_3", 224);
        for (var l : List.of(conv3x3, strided, downsample, pointwise, depthwise)) {
            assertTrue(ConvLayers.applies(l, "im2col"), l.key());
            assertNull(ConvLayers.inapplicable(l, "reference"), l.key());
        }
        assertTrue(ConvLayers.applies(conv3x3, "winograd-f4x3") && ConvLayers.applies(conv3x3, "winograd-f2x3"));
        assertFalse(ConvLayers.applies(strided, "winograd-f2x3"));
        assertFalse(ConvLayers.applies(depthwise, "winograd-f4x3"));
        assertTrue(ConvLayers.applies(pointwise, "gemm1x1"));
        assertFalse(ConvLayers.applies(downsample, "gemm1x1"));        // stride 2
        assertTrue(ConvLayers.applies(depthwise, "depthwise"));
        assertFalse(ConvLayers.applies(conv3x3, "depthwise"));
        String why = ConvLayers.inapplicable(downsample, "gemm1x1");
        assertNotNull(why);
        assertTrue(why.contains("stride 1") && why.contains("64->128 1x1 s2"), why);
        assertFalse(ConvLayers.applies(conv3x3, "fft"));
    }

    /** The single-layer plan: the layer's conv with its bias, a one-element output, the algorithm forced. */
    @Test
    void theLayerPlanIsTheConvolutionAlone() {
        var l = ConvLayers.find("vgg16:features.24", 224);
        var plan = ConvLayers.plan(l, 8, "winograd-f4x3");
        var conv = plan.graph().value(ConvLayers.CONV);
        assertEquals(Shape.of(8, 512, 14, 14), conv.shape());
        assertEquals("winograd-f4x3", plan.algorithms().get(conv.producer()));
        assertEquals(Shape.of(1, 1, 1, 1), plan.graph().outputs().get("y").shape());
        assertTrue(plan.graph().inputs().isEmpty(), "x is state: a run copies nothing in");
        assertEquals(l.flops(8), plan.flops());
    }
}
