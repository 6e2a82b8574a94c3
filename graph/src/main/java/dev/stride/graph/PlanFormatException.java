package dev.stride.graph;

import dev.stride.graph.io.FileFormatException;

/**
 * A plan file that cannot be loaded: not a plan, a newer format, truncated, corrupted, or content that does not
 * hold together. The message names the file and what is wrong with it; {@link #source()} is the file (or
 * "plan bytes" for an in-memory plan).
 */
public final class PlanFormatException extends FileFormatException {
    public PlanFormatException(String source, String problem) {
        this(source, problem, null);
    }

    public PlanFormatException(String source, String problem, Throwable cause) {
        super(source, problem, cause);
    }
}
