package dev.stride.engine.reference;

/** Reference kernels of one op family. */
final class ConvKernels {
    private ConvKernels() {}

    static void register(KernelRegistry r) {
    }
}
