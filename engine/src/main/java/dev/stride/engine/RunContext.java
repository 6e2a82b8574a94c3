package dev.stride.engine;

/**
 * Per-run facts a kernel may read. {@link #step()} counts runs of the session: random ops (dropout, Gaussian
 * noise) derive their stream from (op seed, step, element), so a run is reproducible and a resumed session that
 * restores the step continues the same stream.
 */
public record RunContext(long step) {}
