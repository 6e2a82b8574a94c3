package dev.stride.graph;

/**
 * A tensor in the graph: an input fed per run, a parameter or state tensor that persists across runs,
 * or the output of a node. Identified by {@link #id()} inside its graph.
 */
public record Value(int id, String name, Shape shape, Kind kind, int producer, int outputIndex) {
    public enum Kind {
        /** Fed by the caller on every run. */
        INPUT,
        /** Trainable; persists across runs; initialised from an {@link Init}. */
        PARAM,
        /** Non-trainable persistent tensor: running statistics, optimizer moments. */
        STATE,
        /** Produced by a node. */
        NODE
    }

    public boolean persistent() { return kind == Kind.PARAM || kind == Kind.STATE; }

    @Override public String toString() { return name + shape; }
}
