package dev.stride.engine.cpu;

import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Conv2dBackwardData;
import dev.stride.graph.op.Conv2dBackwardFilter;

/**
 * Cpu kernels for convolution through im2col/indirect GEMM: Conv2d (every configuration; 1x1 as a plain GEMM), its backward data and filter, ConvTranspose2d, BiasGrad, and the depthwise direct kernel.
 *
 * <p>TEMPORARY (branch cpuwino only; dropped when merging with cpuconv, whose file this is): a dispatch of the
 * Winograd and depthwise algorithms alone, so that their tests run before the im2col kernels exist. Every other
 * algorithm returns no kernel, and the node runs on the reference fallback.
 */
final class ConvKernels {
    private ConvKernels() {}

    static void register(CpuKernelRegistry r) {
        r.register(Conv2d.class, (op, node) -> switch (node.algorithm()) {
            case ConvChooser.WINOGRAD_F2 -> WinogradKernels.forward(op, node, 2);
            case ConvChooser.WINOGRAD_F4 -> WinogradKernels.forward(op, node, 4);
            case ConvChooser.DEPTHWISE -> DepthwiseConv.forward(op, node);
            default -> null;
        });
        r.register(Conv2dBackwardData.class, (op, node) -> switch (node.algorithm()) {
            case ConvChooser.WINOGRAD_F2 -> WinogradKernels.backwardData(op, node, 2);
            case ConvChooser.WINOGRAD_F4 -> WinogradKernels.backwardData(op, node, 4);
            case ConvChooser.DEPTHWISE -> DepthwiseConv.backwardData(op, node);
            default -> null;
        });
        r.register(Conv2dBackwardFilter.class, (op, node) -> switch (node.algorithm()) {
            case ConvChooser.DEPTHWISE -> DepthwiseConv.backwardFilter(op, node);
            default -> null;
        });
    }
}
