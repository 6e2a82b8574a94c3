package dev.stride.engine;

import dev.stride.graph.Value;

/** A plan loaded by a backend onto its buffers: the run loop, with kernels already bound. */
public interface Program extends AutoCloseable {
    /** Copies {@code t} (already of the plan's dtype and the value's shape) into the buffer of input or persistent {@code v}. */
    void write(Value v, Tensor t);

    /** Copies the buffer of {@code v} out into a new host tensor. */
    Tensor read(Value v);

    /** Executes every scheduled node, then the graph's updates. */
    void run(RunContext ctx);

    /** Per-node algorithm actually used, by node id ("" when the op has one). */
    default String algorithm(int nodeId) { return ""; }

    /**
     * Turns per-node timing on or off (off by default: two clock reads per node). Backends that cannot time
     * nodes ignore it and report nothing.
     */
    default void profile(boolean on) {}

    /** Nanoseconds spent in each node since profiling was turned on, by node id; empty if not profiled. */
    default long[] nodeNanos() { return new long[0]; }

    @Override void close();
}
