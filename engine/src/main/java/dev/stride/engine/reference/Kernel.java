package dev.stride.engine.reference;

import dev.stride.engine.RunContext;

/** One node's computation, bound at load time: reads {@code in}, writes every element of {@code out}. */
@FunctionalInterface
public interface Kernel {
    void run(Buf[] in, Buf[] out, RunContext ctx);
}
