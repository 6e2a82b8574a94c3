package dev.stride.engine.cpu;

import dev.stride.graph.op.Conv2d;

/**
 * Direct depthwise convolution (groups = in channels = out channels). A stub until its kernel lands: the plan's
 * "depthwise" entries fail to load here with a clear message rather than silently computing something else.
 */
final class DepthwiseConv {
    private DepthwiseConv() {}

    /** Forward kernel; applies {@code node.epilogue(2)}. */
    static CpuKernel forward(Conv2d op, CpuNode node) {
        throw new UnsupportedOperationException("depthwise convolution is not implemented yet (node '" + node.name() + "')");
    }
}
