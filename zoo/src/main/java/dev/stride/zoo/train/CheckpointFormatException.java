package dev.stride.zoo.train;

import java.io.IOException;

/**
 * A checkpoint file that cannot be read: not a checkpoint, a newer format, truncated, corrupted, or content that
 * does not hold together. The message names the file and what is wrong with it.
 */
public final class CheckpointFormatException extends IOException {
    private final String source;
    private final String problem;

    public CheckpointFormatException(String source, String problem) {
        super(source + ": " + problem);
        this.source = source;
        this.problem = problem;
    }

    /** The file (or "checkpoint bytes" for an in-memory one) that was being read. */
    public String source() { return source; }

    /** What is wrong, without the file name. */
    public String problem() { return problem; }
}
