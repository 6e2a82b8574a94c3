package dev.stride.graph;

/**
 * Thrown by an op's shape rule. The message states the rule broken with its numbers
 * (for example the output-size formula evaluated); {@link GraphBuilder} adds the node, op and input shapes.
 */
public final class ShapeException extends RuntimeException {
    public ShapeException(String rule) { super(rule); }

    /** Throws with {@code String.format(rule, args)} unless {@code ok}. */
    public static void require(boolean ok, String rule, Object... args) {
        if (!ok) throw new ShapeException(args.length == 0 ? rule : String.format(rule, args));
    }
}
