package dev.stride.engine.reference;

import dev.stride.engine.Backend;
import dev.stride.engine.Program;
import dev.stride.engine.SessionOptions;
import dev.stride.graph.Compiler;
import dev.stride.graph.Plan;

import java.util.Map;

/**
 * The oracle: plain scalar Java, float and double, every op forward and backward. Obviously correct before fast;
 * every other backend is tested against it. Runs any plan, whatever target it was compiled for: algorithm
 * choices are hints the reference ignores.
 */
public final class ReferenceBackend implements Backend {
    public static final String NAME = "reference";

    private static final KernelRegistry KERNELS = KernelRegistry.reference();

    @Override public String name() { return NAME; }

    @Override public String unavailableReason() { return null; }

    @Override public Compiler.Target target() {
        return new Compiler.Target(NAME, Map.of(), n -> "");
    }

    @Override public Program load(Plan plan, SessionOptions options) {
        return new ReferenceProgram(plan, KERNELS);
    }

    public static KernelRegistry kernels() { return KERNELS; }
}
