package dev.stride.engine.reference;

/** Reference kernels of one op family. */
final class TrainKernels {
    private TrainKernels() {}

    static void register(KernelRegistry r) {
    }
}
