package dev.stride.engine.cpu;

/**
 * The work figure a streaming kernel (pooling, normalisation, resizing, softmax, reductions) hands to
 * {@link CpuRuntime#parallelFor}, whose threshold {@link CpuRuntime#MIN_FLOP_PER_THREAD} is counted in GEMM flops:
 * about 100 us of one core's SGEMM here. These kernels do a few vector operations per float they load or store
 * and run at a small fraction of GEMM's flop rate, so one element visit (a float read or written, a window tap)
 * is counted as {@link #GEMM_FLOPS_PER_VISIT} GEMM flops.
 */
final class StreamingCost {
    private StreamingCost() {}

    /**
     * GEMM flops that take as long as one element visit of a streaming kernel. An estimate from one-thread timings
     * on this shared 2-core machine (best of 100 runs, StreamingKernelTiming), not a measured split threshold: max
     * pooling 3x3/2 on [8,64,112,112] took about 6 ms for 22.5M visits (0.27 ns each) and batch-norm training on
     * [8,64,56,56] about 0.6 ms for 4.8M (0.13 ns), while SGEMM does about 70 GFLOP/s: 9 to 19 GEMM flops per
     * visit. 32 leans towards not splitting: a share must be worth about 60 us of pooling before a second thread
     * (which costs 15-20 us to wake) takes it.
     */
    static final long GEMM_FLOPS_PER_VISIT = 32;

    /** The parallelFor work figure of {@code visits} element visits. */
    static long of(long visits) {
        return visits > Long.MAX_VALUE / GEMM_FLOPS_PER_VISIT ? Long.MAX_VALUE : visits * GEMM_FLOPS_PER_VISIT;
    }
}
