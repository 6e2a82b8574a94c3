package dev.stride.engine.cpu;

import dev.stride.graph.ConvSpec;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Node;
import dev.stride.graph.Value;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Conv2dBackwardData;
import dev.stride.graph.op.Conv2dBackwardFilter;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The heuristic's rules on the layers they were measured on, and that it only ever picks a candidate. */
class ConvChooserTest {
    /** The forward node and its two gradient nodes of conv(x[n, c, hw, hw], w[o, c/groups, k, k]). */
    static Graph conv(int n, int c, int o, int hw, int k, ConvSpec spec) {
        GraphBuilder b = new GraphBuilder(DType.F32, true);
        Value x = b.input("x", n, c, hw, hw), w = b.input("w", o, c / spec.groups(), k, k);
        Value y = b.conv2d(x, w, null, spec);
        Conv2d op = spec.conv2d(hw, hw, k, k);
        b.apply("dx", op.backwardData(hw, hw), y, w);
        b.apply("dw", op.backwardFilter(k, k), x, y);
        b.output("y", y);
        return b.build();
    }

    static String forward(int n, int c, int o, int hw, int k, ConvSpec spec) {
        return ConvChooser.choose(conv(n, c, o, hw, k, spec).nodes().getFirst());
    }

    static final ConvSpec PAD1 = ConvSpec.defaults().pad(1);

    @Test
    void resNetLayersTakeWinogradF4WhereItHasTiles() {
        assertEquals(ConvChooser.WINOGRAD_F4, forward(1, 64, 64, 56, 3, PAD1));
        assertEquals(ConvChooser.WINOGRAD_F4, forward(8, 128, 128, 28, 3, PAD1));
        assertEquals(ConvChooser.WINOGRAD_F4, forward(1, 256, 256, 14, 3, PAD1));
        assertEquals(ConvChooser.WINOGRAD_F4, forward(8, 512, 512, 7, 3, PAD1));
        assertEquals(ConvChooser.WINOGRAD_F2, forward(1, 512, 512, 7, 3, PAD1), "4 tiles of 4x4, 16 of 2x2");
    }

    @Test
    void otherConvolutionsTakeTheirAlgorithm() {
        assertEquals(ConvChooser.IM2COL, forward(8, 3, 64, 56, 3, PAD1), "3 input channels");
        assertEquals(ConvChooser.IM2COL, forward(1, 64, 64, 4, 3, PAD1), "4 tiles of 2x2");
        assertEquals(ConvChooser.IM2COL, forward(8, 64, 64, 56, 3, PAD1.stride(2)), "stride 2");
        assertEquals(ConvChooser.IM2COL, forward(8, 64, 64, 56, 5, ConvSpec.defaults().pad(2)), "5x5");
        assertEquals(ConvChooser.GEMM_1X1, forward(8, 64, 64, 56, 1, ConvSpec.defaults()));
        assertEquals(ConvChooser.DEPTHWISE, forward(8, 64, 64, 56, 3, PAD1.groups(64)));
    }

    @Test
    void gradientsChooseToo() {
        Graph g = conv(8, 64, 128, 28, 3, PAD1);
        assertEquals(ConvChooser.WINOGRAD_F4, ConvChooser.choose(node(g, Conv2dBackwardData.class)));
        assertEquals(ConvChooser.IM2COL, ConvChooser.choose(node(g, Conv2dBackwardFilter.class)));
        Graph d = conv(8, 64, 64, 28, 3, PAD1.groups(64));
        assertEquals(ConvChooser.DEPTHWISE, ConvChooser.choose(node(d, Conv2dBackwardData.class)));
        assertEquals(ConvChooser.DEPTHWISE, ConvChooser.choose(node(d, Conv2dBackwardFilter.class)));
    }

    /** Whatever the attributes, the heuristic's choice is one of the node's candidates, each of which applies. */
    @Property(tries = 200)
    void theChoiceIsAlwaysACandidate(@ForAll long seed) {
        Random r = new Random(seed);
        int groups = r.nextInt(3) == 0 ? 1 + r.nextInt(4) : 1, c = groups * (1 + r.nextInt(20));
        int o = r.nextBoolean() ? c : groups * (1 + r.nextInt(20)), k = 1 + r.nextInt(4);
        ConvSpec spec = ConvSpec.defaults().groups(groups).stride(1 + r.nextInt(2)).dilation(1 + r.nextInt(2), 1)
                .pad(r.nextInt(2), r.nextInt(2), r.nextInt(2), r.nextInt(2));
        Graph g;
        try {
            g = conv(1 + r.nextInt(8), c, o, 8 + r.nextInt(20), k, spec);
        } catch (dev.stride.graph.GraphException tooSmall) {
            return;                                   // an output size < 1: no node to choose for
        }
        for (Node n : g.nodes()) {
            var candidates = ConvChooser.candidates(n);
            if (candidates.isEmpty()) continue;
            assertTrue(candidates.contains(ConvChooser.choose(n)), n + ": " + ConvChooser.choose(n) + " not in " + candidates);
        }
    }

    private static Node node(Graph g, Class<?> op) {
        return g.nodes().stream().filter(n -> op.isInstance(n.op())).findFirst().orElseThrow();
    }
}
