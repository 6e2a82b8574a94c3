package dev.stride.engine.cuda;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cuDNN graph building code against the real libcudnn, without a device: tensor, convolution, operation and
 * operation-graph descriptors finalize for every pass of random Stride convolutions (cuDNN checks the geometry at
 * the operation's finalize), and refuse a wrong one with cuDNN's reason. Engine configurations and execution
 * plans need a device's properties: {@link CudnnGpuTest} covers them.
 */
@net.jqwik.api.Tag("cudnn")   // jqwik reads its own tags; the JUnit tests below carry JUnit's
@AddLifecycleHook(CudnnLibrary.Needed.class)
class CudnnGraphTest {
    private static ConvProblem problem(ConvCase k, ConvProblem.Pass pass) {
        return ConvProblem.of(pass, k.conv(), k.x(), k.weight(), k.output(), k.bias() && pass == ConvProblem.Pass.FORWARD);
    }

    @Property(tries = 150)
    void everyPassOfAStrideConvolutionFinalizes(@ForAll long seed) {
        ConvCase k = ConvCase.draw(seed);
        for (ConvProblem.Pass pass : ConvProblem.Pass.values()) {
            ConvProblem p = problem(k, pass);
            try (CudnnConvGraph g = CudnnConvGraph.build(p, false, false, 16, MemorySegment.NULL)) {
                assertEquals(3, g.uids().length, pass + " " + k);
            }
        }
    }

    @Property(tries = 60)
    void forwardWithPointwiseBiasAndReluFinalizes(@ForAll long seed, @ForAll boolean relu) {
        ConvCase k = ConvCase.draw(seed);
        ConvProblem p = ConvProblem.of(ConvProblem.Pass.FORWARD, k.conv(), k.x(), k.weight(), k.output(), true);
        try (CudnnConvGraph g = CudnnConvGraph.build(p, true, relu, 16, MemorySegment.NULL)) {
            assertEquals(4, g.uids().length);
            assertEquals(CudnnConvGraph.BIAS, g.uids()[3]);
        }
        ConvProblem noBias = ConvProblem.of(ConvProblem.Pass.FORWARD, k.conv(), k.x(), k.weight(), k.output(), false);
        try (CudnnConvGraph g = CudnnConvGraph.build(noBias, false, true, 4, MemorySegment.NULL)) {
            assertEquals(3, g.uids().length);
        }
        var e = assertThrows(IllegalArgumentException.class, () -> CudnnConvGraph.build(p, false, true, 4, MemorySegment.NULL));
        assertEquals("a ReLU fused after a convolution with a bias needs the bias in the graph: " + p, e.getMessage());
    }

    /** One output row too many: cuDNN's own size check refuses it, which shows the check is real. */
    @Property(tries = 60)
    void aWrongOutputSizeIsRefusedWithCudnnsReason(@ForAll long seed) {
        ConvCase k = ConvCase.draw(seed);
        ConvProblem p = problem(k, ConvProblem.Pass.FORWARD);
        long[] y = p.y().clone();
        y[2]++;
        ConvProblem wrong = new ConvProblem(p.pass(), p.x(), p.w(), y, p.prePadding(), p.postPadding(), p.strides(),
                p.dilations(), p.groups(), false);
        var e = assertThrows(CudnnDescriptor.CudnnException.class,
                () -> CudnnConvGraph.build(wrong, false, false, 16, MemorySegment.NULL).close());
        assertTrue(e.getMessage().contains("CUDNN_STATUS_BAD_PARAM"), e.getMessage());
        assertTrue(e.getMessage().contains("spatial"), e.getMessage());
    }

    /** A filter whose channels do not divide the input's is not a grouped convolution cuDNN accepts. */
    @Test
    @Tag("cudnn")
    void channelsThatAreNotGroupsAreRefused() {
        CudnnLibrary.assume();
        ConvProblem p = new ConvProblem(ConvProblem.Pass.FORWARD, new long[] {1, 5, 6, 6}, new long[] {4, 2, 3, 3},
                new long[] {1, 4, 4, 4}, new long[] {0, 0}, new long[] {0, 0}, new long[] {1, 1}, new long[] {1, 1}, 1,
                false);
        var e = assertThrows(CudnnDescriptor.CudnnException.class,
                () -> CudnnConvGraph.build(p, false, false, 16, MemorySegment.NULL).close());
        assertTrue(e.getMessage().startsWith("cudnnBackendFinalize"), e.getMessage());
    }

    /**
     * The first half of rebuilding a tuned entry works without a device: the engines of a graph by global index,
     * with the knob types each accepts. A knob the engine does not have is refused before cuDNN sees it, an index
     * past the graph's engines by cuDNN. (Finalizing the configuration needs a device's properties.)
     */
    @Test
    @Tag("cudnn")
    void enginesOfAGraphByIndexWithTheirKnobs() {
        CudnnLibrary.assume();
        ConvCase k = ConvCase.draw(7);
        try (CudnnConvGraph g = CudnnConvGraph.build(problem(k, ConvProblem.Pass.FORWARD), false, false, 16,
                MemorySegment.NULL)) {
            long count = g.graph.getLong(dev.stride.cuda.cudnn.Cudnn.CUDNN_ATTR_OPERATIONGRAPH_ENGINE_GLOBAL_COUNT());
            assertTrue(count > 0, "engines: " + count);
            int found = 0;
            long withKnobs = -1;
            for (long i = 0; i < count; i++) {
                try (CudnnDescriptor e = CudnnEngines.engine(g, i)) {
                    found++;
                    var types = CudnnEngines.knobTypes(e);
                    for (int t : types)
                        assertTrue(t >= 0 && t < dev.stride.cuda.cudnn.Cudnn.CUDNN_KNOB_TYPE_COUNTS(), "knob type " + t);
                    if (!types.isEmpty() && withKnobs < 0) withKnobs = i;
                } catch (CudnnDescriptor.CudnnException notForThisGraph) {
                    assertTrue(notForThisGraph.getMessage().contains("CUDNN_STATUS_NOT_SUPPORTED"), notForThisGraph.getMessage());
                }
            }
            assertTrue(found > 0, "no engine of " + count + " finalized");
            assertTrue(withKnobs >= 0, "no engine with knobs");
            var bogus = ConvAlgorithm.engine(withKnobs, java.util.List.of(new ConvAlgorithm.Knob(999, 1)), false, "");
            var e = assertThrows(IllegalArgumentException.class, () -> CudnnEngines.config(g, bogus));
            assertTrue(e.getMessage().startsWith("cuDNN engine " + withKnobs + " has no knob of type 999"), e.getMessage());
            var past = assertThrows(CudnnDescriptor.CudnnException.class, () -> CudnnEngines.engine(g, count + 1000).close());
            assertTrue(past.getMessage().contains("CUDNN_STATUS_NOT_SUPPORTED"), past.getMessage());
        }
    }

    /**
     * The choice of a node's engine, run against libcudnn without a device, where no configuration can be
     * finalized: a tuned entry for this machine is tried (its engine found, its configuration refused, a notice),
     * one for another machine only noticed; then the heuristics (modes A and fallback) are asked, and the node is
     * refused with the reasons, which is what sends it to the direct kernel.
     */
    @Test
    @Tag("cudnn")
    void withoutADeviceEveryChoiceEndsInARefusalThatSaysWhy() {
        CudnnLibrary.assume();
        ConvCase k = ConvCase.draw(5);
        ConvProblem p = problem(k, ConvProblem.Pass.FORWARD);
        String here = ConvAlgorithm.machine("Test GPU", "9.24.0");
        long engine = -1;
        try (CudnnConvGraph g = CudnnConvGraph.build(p, false, false, 16, MemorySegment.NULL)) {
            long count = g.graph.getLong(dev.stride.cuda.cudnn.Cudnn.CUDNN_ATTR_OPERATIONGRAPH_ENGINE_GLOBAL_COUNT());
            for (long i = 0; i < count && engine < 0; i++) {
                try (CudnnDescriptor e = CudnnEngines.engine(g, i)) {
                    if (CudnnEngines.knobTypes(e).isEmpty()) engine = i;
                } catch (CudnnDescriptor.CudnnException notForThisGraph) {
                    // the next one
                }
            }
        }
        assertTrue(engine >= 0, "no knob-less engine for " + p);
        java.util.List<String> notices = new java.util.ArrayList<>();
        var policy = new CudnnEngines.Policy(false, false);
        var tuned = ConvAlgorithm.engine(engine, java.util.List.of(), false, here);
        var refused = assertThrows(CudnnConv.Refused.class,
                () -> CudnnConv.open(MemorySegment.NULL, p, tuned, false, here, policy, 16, notices::add));
        assertTrue(refused.getMessage().startsWith("cuDNN has no engine for " + p + " (float32 math, deterministic)"),
                refused.getMessage());
        assertEquals(1, notices.size(), notices.toString());
        assertTrue(notices.getFirst().startsWith("the tuned cuDNN engine " + tuned.entry() + " cannot run"), notices.getFirst());
        notices.clear();
        String elsewhere = ConvAlgorithm.machine("Other GPU", "9.24.0");
        assertThrows(CudnnConv.Refused.class,
                () -> CudnnConv.open(MemorySegment.NULL, p, tuned.on(elsewhere), false, here, policy, 16, notices::add));
        assertEquals(java.util.List.of(tuned.on(elsewhere).mismatch(here)), notices);
    }

    /**
     * A node with a fused ReLU, without a device: the heuristics are asked for the graph with the bias and the
     * ReLU first, then for the plain convolution (whose epilogue kernel would apply them), and the refusal lists
     * both; a notice says the ReLU leaves the graph.
     */
    @Test
    @Tag("cudnn")
    void aFusedReluIsTriedInTheGraphFirstThenLeftToTheEpilogue() {
        CudnnLibrary.assume();
        ConvCase k = ConvCase.draw(5);
        ConvProblem p = ConvProblem.of(ConvProblem.Pass.FORWARD, k.conv(), k.x(), k.weight(), k.output(), true);
        java.util.List<String> notices = new java.util.ArrayList<>();
        var policy = new CudnnEngines.Policy(false, false);
        var refused = assertThrows(CudnnConv.Refused.class, () -> CudnnConv.open(MemorySegment.NULL, p,
                ConvAlgorithm.HEURISTIC, true, ConvAlgorithm.machine("Test GPU", "9.24.0"), policy, 16, notices::add));
        assertTrue(refused.getMessage().startsWith("cuDNN has no engine for " + p), refused.getMessage());
        assertEquals(java.util.List.of("cuDNN runs no graph of " + p + " with its bias and ReLU here: they run in an"
                + " epilogue kernel after the convolution"), notices);
        var inconsistent = assertThrows(IllegalArgumentException.class, () -> CudnnConv.open(MemorySegment.NULL, p,
                ConvAlgorithm.engine(3, java.util.List.of(), true, true, ""), false, "here", policy, 16, notices::add));
        assertTrue(inconsistent.getMessage().contains("applies a ReLU, but no ReLU is fused into the node"),
                inconsistent.getMessage());
    }

    @Test
    @Tag("cudnn")
    void fusionIsForwardOnly() {
        ConvCase k = ConvCase.draw(1);
        ConvProblem p = ConvProblem.of(ConvProblem.Pass.BACKWARD_DATA, k.conv(), k.x(), k.weight(), k.output(), false);
        var e = assertThrows(IllegalArgumentException.class, () -> CudnnConvGraph.build(p, false, true, 16, MemorySegment.NULL));
        assertEquals("pointwise fusion is built for forward convolutions only, not BACKWARD_DATA", e.getMessage());
    }
}
