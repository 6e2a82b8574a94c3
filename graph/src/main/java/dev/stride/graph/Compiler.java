package dev.stride.graph;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Compiles a graph into a {@link Plan}: dead-node elimination and scheduling, algorithm choice (asked of the
 * target), liveness and the memory plan. Everything expensive happens here, once.
 */
public final class Compiler {
    private Compiler() {}

    /**
     * Options: the target backend's name, facts about it, and its algorithm choice, which sees the whole scheduled
     * graph so that it can also decide fusions (a node absorbed into its producer records that in its own entry).
     */
    public record Target(String name, Map<String, String> info, AlgorithmChooser chooser) {
        /** A target whose choice is per node, independent of the neighbours. */
        public Target(String name, Map<String, String> info, Function<Node, String> perNode) {
            this(name, info, (g, schedule) -> {
                List<String> a = new ArrayList<>();
                for (Node n : g.nodes()) a.add("");
                for (int id : schedule) a.set(id, perNode.apply(g.nodes().get(id)));
                return a;
            });
        }

        public static Target reference() { return new Target("reference", Map.of(), n -> ""); }
    }

    /** Chooses, for every node id of {@code g}, its algorithm ("" where the op has only one). */
    @FunctionalInterface
    public interface AlgorithmChooser {
        List<String> choose(Graph g, int[] schedule);
    }

    public static Plan compile(Graph g) { return compile(g, Target.reference()); }

    public static Plan compile(Graph g, Target target) {
        int[] schedule = schedule(g);
        List<String> algorithms = target.chooser().choose(g, schedule);
        if (algorithms.size() != g.nodes().size())
            throw new IllegalStateException("target " + target.name() + " chose " + algorithms.size()
                    + " algorithms for " + g.nodes().size() + " nodes");
        MemoryPlan memory = MemoryPlanner.plan(g, schedule, algorithms);
        return new Plan(g, schedule, memory, target.name(), target.info(), algorithms, Map.of());
    }

    /**
     * The nodes the outputs and updates need, in build order (already topological). Build order keeps a forward
     * activation's consumers close to it, which keeps lifetimes short.
     */
    static int[] schedule(Graph g) {
        BitSet needed = new BitSet();
        List<Value> roots = new ArrayList<>(g.outputs().values());
        for (Graph.Update u : g.updates()) roots.add(u.source());
        BitSet neededValues = new BitSet();
        for (Value v : roots) neededValues.set(v.id());
        for (int i = g.nodes().size() - 1; i >= 0; i--) {
            Node n = g.nodes().get(i);
            if (n.outputs().stream().noneMatch(o -> neededValues.get(o.id()))) continue;
            needed.set(i);
            for (Value in : n.inputs()) neededValues.set(in.id());
        }
        return needed.stream().toArray();
    }
}
