package dev.stride.engine.cpu;

/** Cpu kernels for pooling, upsampling and normalisation: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Upsample2d and their backwards, BatchNorm2d train/infer and backwards. */
final class PoolKernels {
    private PoolKernels() {}

    static void register(CpuKernelRegistry r) {
    }
}
