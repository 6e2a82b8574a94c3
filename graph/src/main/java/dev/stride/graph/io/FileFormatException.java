package dev.stride.graph.io;

import java.io.IOException;

/**
 * A Stride binary file that cannot be read: not a file of the expected kind, a newer format, truncated, corrupted,
 * or content that does not hold together. The message is {@code source + ": " + problem}. Each format has its own
 * subclass (a plan file's, a checkpoint's), so callers can tell them apart.
 */
public class FileFormatException extends IOException {
    private final String source;
    private final String problem;

    public FileFormatException(String source, String problem) {
        super(source + ": " + problem);
        this.source = source;
        this.problem = problem;
    }

    public FileFormatException(String source, String problem, Throwable cause) {
        super(source + ": " + problem, cause);
        this.source = source;
        this.problem = problem;
    }

    /** The file (or a name such as "plan bytes" for an in-memory one) that was being read. */
    public String source() { return source; }

    /** What is wrong, without the file name. */
    public String problem() { return problem; }

    /** Makes a format's own exception; every failure of a {@link FramedFile} or {@link BodyReader} goes through it. */
    @FunctionalInterface
    public interface Factory<E extends FileFormatException> {
        E create(String source, String problem, Throwable cause);
    }
}
