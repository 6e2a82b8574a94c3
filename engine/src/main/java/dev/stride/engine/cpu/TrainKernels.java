package dev.stride.engine.cpu;

/** Cpu kernels for losses, random ops and optimizer updates. */
final class TrainKernels {
    private TrainKernels() {}

    static void register(CpuKernelRegistry r) {
    }
}
