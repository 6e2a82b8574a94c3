package dev.stride.engine;

import dev.stride.graph.Graph;
import dev.stride.graph.Node;
import dev.stride.graph.Value;

import java.util.BitSet;

/**
 * Who reads each value of a scheduled graph, for the fusion decisions of a backend's algorithm chooser: a node may
 * absorb its consumer only when that consumer is the value's one reader, reads it as its first input and nowhere
 * else, and the value is neither a graph output nor an update's source (then nobody else needs it in memory).
 */
public final class FusionReaders {
    private final Graph graph;
    private final int[] readers;
    private final int[] reader;
    private final BitSet readOutside;

    public FusionReaders(Graph g, int[] schedule) {
        this.graph = g;
        int nv = g.values().size();
        readers = new int[nv];
        reader = new int[nv];
        for (int id : schedule) {
            for (Value in : g.nodes().get(id).inputs()) {
                readers[in.id()]++;
                reader[in.id()] = id;
            }
        }
        readOutside = new BitSet(nv);
        for (Value v : g.outputs().values()) readOutside.set(v.id());
        for (Graph.Update u : g.updates()) readOutside.set(u.source().id());
    }

    /** The node that may fuse {@code v} away (the only reader of it, as its input 0 only), or null. */
    public Node soleReader(Value v) {
        if (readOutside.get(v.id()) || readers[v.id()] != 1) return null;
        Node next = graph.nodes().get(reader[v.id()]);
        if (next.inputs().indexOf(v) != 0 || next.inputs().lastIndexOf(v) != 0) return null;
        return next;
    }
}
