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

    @Override void close();
}
