package dev.stride.engine;

import dev.stride.graph.Graph;
import dev.stride.graph.Node;
import dev.stride.graph.Value;
import dev.stride.graph.op.BatchNorm2dInfer;
import dev.stride.graph.op.Unary;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.List;

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

    /**
     * What a convolution's kernel may absorb after it, in order: a batch norm in inference mode whose parameters
     * are constant during a run (persistent or fed), then one activation of {@code activations}; each the sole
     * reader of the previous output. Empty when nothing follows that way.
     */
    public List<Node> convolutionChain(Node conv, Collection<Unary.Fn> activations) {
        List<Node> chain = new ArrayList<>();
        Node next = soleReader(conv.outputs().getFirst());
        if (next != null && next.op() instanceof BatchNorm2dInfer
                && next.inputs().subList(1, 5).stream().allMatch(v -> v.persistent() || v.kind() == Value.Kind.INPUT)) {
            chain.add(next);
            next = soleReader(next.outputs().getFirst());
        }
        if (next != null && next.op() instanceof Unary u && activations.contains(u.fn())) chain.add(next);
        return chain;
    }
}
