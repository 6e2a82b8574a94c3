package dev.stride.graph;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The ahead-of-time artefact: a graph with its schedule, memory plan, per-node algorithm choices, the target it
 * was compiled for, and (optionally) the values of its parameters and state. Immutable and shareable; everything
 * needed to run without the code that built the graph. Saved and loaded by {@link PlanFile}.
 *
 * @param target     backend name the plan was compiled for ("reference", "cpu", "cuda")
 * @param targetInfo facts about the target that a loader validates (ISA, vector width, GPU arch, library versions)
 * @param algorithms per node id, the algorithm chosen for it ("" where the op has only one)
 * @param tensors    stored values of persistent tensors by name, little-endian in the graph's dtype
 */
public record Plan(Graph graph, int[] schedule, MemoryPlan memory, String target, Map<String, String> targetInfo,
                   List<String> algorithms, Map<String, byte[]> tensors) {
    public Plan {
        targetInfo = Collections.unmodifiableMap(new LinkedHashMap<>(targetInfo));
        algorithms = List.copyOf(algorithms);
        tensors = Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
    }

    /**
     * The algorithm entry of a node whose computation a preceding node's kernel performs (conv + batch norm +
     * activation fused into the conv): {@code "fused:<head node id>"}. Its outputs are written by the head, so the
     * memory plan keeps them live from the head's step. A backend that does not fuse runs the node as usual.
     */
    public static final String FUSED_PREFIX = "fused:";

    /** The head node id of a {@link #FUSED_PREFIX} entry, or -1 for any other algorithm. */
    public static int fusedInto(String algorithm) {
        if (algorithm == null || !algorithm.startsWith(FUSED_PREFIX)) return -1;
        try {
            return Integer.parseInt(algorithm.substring(FUSED_PREFIX.length()));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The same plan carrying these persistent tensor values (for example after training). */
    public Plan withTensors(Map<String, byte[]> values) {
        return new Plan(graph, schedule, memory, target, targetInfo, algorithms, values);
    }

    public List<Node> scheduledNodes() {
        return java.util.Arrays.stream(schedule).mapToObj(i -> graph.nodes().get(i)).toList();
    }

    /** Total FLOPs of one run. */
    public long flops() {
        long f = 0;
        for (Node n : scheduledNodes()) f += n.op().flops(n.inputShapes(), n.outputShapes());
        return f;
    }
}
