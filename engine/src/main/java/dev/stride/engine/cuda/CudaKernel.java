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
}
