package dev.stride.engine.cpu;

/** Cpu kernels for convolution through im2col/indirect GEMM: Conv2d (every configuration; 1x1 as a plain GEMM), its backward data and filter, ConvTranspose2d, BiasGrad, and the depthwise direct kernel. */
final class ConvKernels {
    private ConvKernels() {}

    static void register(CpuKernelRegistry r) {
    }
}
