package dev.stride.engine.cuda;

/**
 * A kernel launch prepared once (the function looked up, the argument buffer and grid computed) and run on every
 * step. A kernel factory prepares its launches when the node is bound; {@link CudaKernel#run} only calls
 * {@link #run()}, after {@link #set} for an argument that changes per step (a random op's key).
 */
public interface Launch {
    /** Enqueues the kernel on the device's stream (asynchronous on a GPU). Nothing happens for 0 elements. */
    void run();

    /** Replaces argument {@code index} for the following runs; the kind must be the one prepared. */
    void set(int index, Arg value);
}
