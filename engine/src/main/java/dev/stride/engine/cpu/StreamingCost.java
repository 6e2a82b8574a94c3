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
     * on this shared 2-core machine, not a measured split threshold: max pooling ran at about 0.36 ns per visit
     * and batch-norm training at about 0.15 ns, while SGEMM does about 70 GFLOP/s, i.e. 10 to 25 GEMM flops per
     * visit. 32 leans towards not splitting: a share must be worth about 90 us of pooling before a second thread
     * (which costs 15-20 us to wake) takes it.
     */
    static final long GEMM_FLOPS_PER_VISIT = 32;

    /** The parallelFor work figure of {@code visits} element visits. */
    static long of(long visits) {
        return visits > Long.MAX_VALUE / GEMM_FLOPS_PER_VISIT ? Long.MAX_VALUE : visits * GEMM_FLOPS_PER_VISIT;
    }
}
