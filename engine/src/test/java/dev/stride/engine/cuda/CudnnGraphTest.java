package dev.stride.engine.cuda;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AddLifecycleHook;
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
        try (CudnnConvGraph g = CudnnConvGraph.build(p, false, true, 4, MemorySegment.NULL)) {
            assertEquals(3, g.uids().length);
        }
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
    void channelsThatAreNotGroupsAreRefused() {
        CudnnLibrary.assume();
        ConvProblem p = new ConvProblem(ConvProblem.Pass.FORWARD, new long[] {1, 5, 6, 6}, new long[] {4, 2, 3, 3},
                new long[] {1, 4, 4, 4}, new long[] {0, 0}, new long[] {0, 0}, new long[] {1, 1}, new long[] {1, 1}, 1,
                false);
        var e = assertThrows(CudnnDescriptor.CudnnException.class,
                () -> CudnnConvGraph.build(p, false, false, 16, MemorySegment.NULL).close());
        assertTrue(e.getMessage().startsWith("cudnnBackendFinalize"), e.getMessage());
    }

    @Test
    void fusionIsForwardOnly() {
        ConvCase k = ConvCase.draw(1);
        ConvProblem p = ConvProblem.of(ConvProblem.Pass.BACKWARD_DATA, k.conv(), k.x(), k.weight(), k.output(), false);
        var e = assertThrows(IllegalArgumentException.class, () -> CudnnConvGraph.build(p, false, true, 16, MemorySegment.NULL));
        assertEquals("pointwise fusion is built for forward convolutions only, not BACKWARD_DATA", e.getMessage());
    }
}
