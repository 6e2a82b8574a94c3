package dev.stride.zoo.train;

import dev.stride.graph.io.FileFormatException;

/**
 * A checkpoint file that cannot be read: not a checkpoint, a newer format, truncated, corrupted, or content that
 * does not hold together. The message names the file and what is wrong with it; {@link #source()} is the file (or
 * "checkpoint bytes" for an in-memory one).
 */
public final class CheckpointFormatException extends FileFormatException {
    public CheckpointFormatException(String source, String problem) {
        super(source, problem);
    }

    public CheckpointFormatException(String source, String problem, Throwable cause) {
        super(source, problem, cause);
    }
}
