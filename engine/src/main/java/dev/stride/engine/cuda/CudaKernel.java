package dev.stride.engine.cuda;

import dev.stride.engine.RunContext;

/**
 * One node's computation on the cuda backend, bound at load time to its device buffers, with its launches
 * prepared ({@link CudaNode#launch}): the run loop calls {@link #run} and nothing else. It enqueues work on the
 * device's stream (launches, device copies) and must write every element of its outputs; it allocates nothing.
 */
@FunctionalInterface
public interface CudaKernel {
    void run(RunContext ctx);

    /**
     * What this kernel runs where an op has several implementations (a cuDNN engine entry, "direct", "cublas"),
     * reported by {@code Session.algorithm}; "" where the op has one.
     */
    default String algorithm() { return ""; }

    /**
     * Releases what the kernel holds outside the program's device memory (cuDNN descriptors and plans); called
     * once, by the program's close, before the device goes. Most kernels hold nothing.
     */
    default void close() {}

    /** {@code body}, reporting {@code algorithm}. */
    static CudaKernel named(String algorithm, CudaKernel body) {
        return new CudaKernel() {
            @Override public void run(RunContext ctx) { body.run(ctx); }

            @Override public String algorithm() { return algorithm; }
        };
    }
}
