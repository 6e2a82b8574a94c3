package dev.stride.graph;

import java.io.IOException;

/**
 * A plan file that cannot be loaded: not a plan, a newer format, truncated, corrupted, or content that does not
 * hold together. The message names the file and what is wrong with it.
 */
public final class PlanFormatException extends IOException {
    private final String source;
    private final String problem;

    public PlanFormatException(String source, String problem) {
        this(source, problem, null);
    }

    public PlanFormatException(String source, String problem, Throwable cause) {
        super(source + ": " + problem, cause);
        this.source = source;
        this.problem = problem;
    }

    /** The file (or "plan bytes" for an in-memory plan) that was being read. */
    public String source() { return source; }

    /** What is wrong, without the file name. */
    public String problem() { return problem; }
}
