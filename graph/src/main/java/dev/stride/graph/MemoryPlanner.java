package dev.stride.graph;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Liveness analysis and arena packing. Greedy by size (largest first), each buffer at the lowest 64-byte
 * aligned offset that no time-overlapping, already placed buffer occupies: the heuristic TFLite and ncnn
 * use, within a few percent of the lower bound on CNNs.
 */
public final class MemoryPlanner {
    private MemoryPlanner() {}

    public static MemoryPlan plan(Graph g, int[] schedule) {
        return plan(g, schedule, null);
    }

    /**
     * The plan for a schedule whose {@code algorithms} (by node id; may be null) fuse nodes: the outputs of a node
     * marked {@link Plan#fusedInto} are written by its head's kernel, so they are live from the head's step on.
     */
    public static MemoryPlan plan(Graph g, int[] schedule, java.util.List<String> algorithms) {
        int nv = g.values().size();
        long[] offset = new long[nv];
        long[] bytes = new long[nv];
        int[] first = new int[nv];
        int[] last = new int[nv];
        Arrays.fill(offset, -1);
        Arrays.fill(first, Integer.MAX_VALUE);
        Arrays.fill(last, Integer.MIN_VALUE);
        int end = schedule.length;
        int elem = g.dtype().bytes;

        for (Value v : g.values()) {
            if (v.kind() == Value.Kind.INPUT) { first[v.id()] = -1; last[v.id()] = -1; }
        }
        for (int step = 0; step < schedule.length; step++) {
            Node n = g.nodes().get(schedule[step]);
            for (Value in : n.inputs()) last[in.id()] = Math.max(last[in.id()], step);
            for (Value out : n.outputs()) {
                first[out.id()] = Math.min(first[out.id()], step);
                last[out.id()] = Math.max(last[out.id()], step);
            }
        }
        if (algorithms != null) {
            int[] stepOf = new int[g.nodes().size()];
            for (int step = 0; step < schedule.length; step++) stepOf[schedule[step]] = step;
            for (int step = 0; step < schedule.length; step++) {
                int head = Plan.fusedInto(algorithms.get(schedule[step]));
                if (head < 0) continue;
                for (Value out : g.nodes().get(schedule[step]).outputs())
                    first[out.id()] = Math.min(first[out.id()], stepOf[head]);
            }
        }
        for (Value v : g.outputs().values()) last[v.id()] = end;
        for (Graph.Update u : g.updates()) last[u.source().id()] = end;

        // Persistent tensors: one region, declaration order.
        long persistent = 0;
        for (Value v : g.persistent()) {
            bytes[v.id()] = v.shape().size() * elem;
            offset[v.id()] = persistent;
            persistent += MemoryPlan.align(bytes[v.id()]);
            first[v.id()] = -1;
            last[v.id()] = end;
        }

        List<Value> arenaValues = new ArrayList<>();
        long naive = 0;
        for (Value v : g.values()) {
            if (v.persistent() || first[v.id()] == Integer.MAX_VALUE) continue;
            bytes[v.id()] = v.shape().size() * elem;
            naive += MemoryPlan.align(Math.max(bytes[v.id()], 1)); // as placed: an empty tensor still takes a slot
            arenaValues.add(v);
        }
        arenaValues.sort(Comparator.comparingLong((Value v) -> bytes[v.id()]).reversed()
                .thenComparingInt(v -> first[v.id()]));

        List<Value> placed = new ArrayList<>();
        long arena = 0;
        for (Value v : arenaValues) {
            long size = MemoryPlan.align(Math.max(bytes[v.id()], 1));
            List<long[]> busy = new ArrayList<>();
            for (Value p : placed) {
                if (first[v.id()] <= last[p.id()] && first[p.id()] <= last[v.id()]) {
                    busy.add(new long[] {offset[p.id()], offset[p.id()] + MemoryPlan.align(Math.max(bytes[p.id()], 1))});
                }
            }
            busy.sort(Comparator.comparingLong(r -> r[0]));
            long at = 0;
            for (long[] r : busy) {
                if (at + size <= r[0]) break;
                at = Math.max(at, r[1]);
            }
            offset[v.id()] = at;
            arena = Math.max(arena, at + size);
            placed.add(v);
        }
        return new MemoryPlan(offset, bytes, first, last, arena, naive, persistent);
    }
}
