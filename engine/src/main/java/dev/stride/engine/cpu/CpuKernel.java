package dev.stride.engine.cpu;

import dev.stride.engine.RunContext;

/**
 * One node's computation on the cpu backend, bound at load time to its buffers, scratch and packed weights: the
 * run loop calls {@link #run} and nothing else. It must write every element of its outputs.
 */
@FunctionalInterface
public interface CpuKernel {
    void run(RunContext ctx);
}
