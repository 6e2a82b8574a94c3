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

    /** Options: the target backend's name, facts about it, and its per-node algorithm choice. */
    public record Target(String name, Map<String, String> info, Function<Node, String> algorithmChooser) {
        public static Target reference() { return new Target("reference", Map.of(), n -> ""); }
    }

    public static Plan compile(Graph g) { return compile(g, Target.reference()); }

    public static Plan compile(Graph g, Target target) {
        int[] schedule = schedule(g);
        MemoryPlan memory = MemoryPlanner.plan(g, schedule);
        List<String> algorithms = new ArrayList<>();
        for (Node n : g.nodes()) algorithms.add("");
        for (int id : schedule) algorithms.set(id, target.algorithmChooser().apply(g.nodes().get(id)));
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
