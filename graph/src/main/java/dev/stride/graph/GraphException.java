package dev.stride.graph;

/** A graph that cannot be built or compiled: names the node, the op, the input shapes and the rule broken. */
public final class GraphException extends RuntimeException {
    public GraphException(String message) { super(message); }
    public GraphException(String message, Throwable cause) { super(message, cause); }
}
