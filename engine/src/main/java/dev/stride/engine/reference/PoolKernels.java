package dev.stride.engine.reference;

/** Reference kernels of one op family. */
final class PoolKernels {
    private PoolKernels() {}

    static void register(KernelRegistry r) {
    }
}
