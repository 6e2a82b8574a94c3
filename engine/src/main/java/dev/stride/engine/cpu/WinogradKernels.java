package dev.stride.engine.cpu;

import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Conv2dBackwardData;

/**
 * Winograd F(2x2,3x3) and F(4x4,3x3) convolution, forward and backward-data. Not registered for an op of its own:
 * {@link ConvKernels} dispatches 3x3 stride-1 convolutions here when the plan's algorithm says so.
 */
final class WinogradKernels {
    private WinogradKernels() {}

    static void register(CpuKernelRegistry r) {
    }

    /** Forward kernel, F(m x m, 3x3), m = 2 or 4; applies {@code node.epilogue(2)}. */
    static CpuKernel forward(Conv2d op, CpuNode node, int m) {
        throw new UnsupportedOperationException("Winograd forward is not implemented yet (node '" + node.name() + "')");
    }

    /** Backward-data kernel, F(m x m, 3x3), m = 2 or 4. */
    static CpuKernel backwardData(Conv2dBackwardData op, CpuNode node, int m) {
        throw new UnsupportedOperationException("Winograd backward-data is not implemented yet (node '" + node.name() + "')");
    }
}
