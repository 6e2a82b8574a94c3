package dev.stride.tools;

import dev.stride.graph.Graph;
import dev.stride.graph.MemoryPlan;
import dev.stride.graph.Node;
import dev.stride.graph.Plan;
import dev.stride.graph.Value;

import java.util.stream.Collectors;

/** {@code stride plan explain}: what a plan will do, node by node, and where its memory goes. */
public final class PlanExplain {
    private PlanExplain() {}

    public static String explain(Plan plan) {
        Graph g = plan.graph();
        MemoryPlan m = plan.memory();
        StringBuilder sb = new StringBuilder();
        long naive = m.naiveArenaBytes(), arena = m.arenaBytes();
        sb.append(String.format("target %s%s, %s, %s graph%n", plan.target(),
                plan.targetInfo().isEmpty() ? "" : " " + plan.targetInfo(), g.dtype(), g.training() ? "training" : "inference"));
        sb.append(String.format("%d nodes scheduled of %d, %sFLOP per run%n", plan.schedule().length, g.nodes().size(),
                flops(plan.flops())));
        sb.append(String.format("arena %s (naive sum of buffers %s, %.1f%% saved), persistent %s%n",
                Units.bytes(arena), Units.bytes(naive), naive == 0 ? 0.0 : 100.0 * (naive - arena) / naive,
                Units.bytes(m.persistentBytes())));
        sb.append(String.format("inputs: %s%n", g.inputs().stream().map(Value::toString).collect(Collectors.joining(", "))));
        sb.append(String.format("outputs: %s%n%n", g.outputs().entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(", "))));

        sb.append(String.format("%4s  %-34s %-26s %-22s %12s %-10s %12s %10s%n",
                "#", "node", "op", "output", "FLOPs", "algorithm", "offset", "bytes"));
        int step = 0;
        for (Node n : plan.scheduledNodes()) {
            String algo = plan.algorithms().get(n.id());
            long f = n.op().flops(n.inputShapes(), n.outputShapes());
            for (int k = 0; k < n.outputs().size(); k++) {
                Value o = n.outputs().get(k);
                boolean first = k == 0;
                sb.append(String.format("%4s  %-34s %-26s %-22s %12s %-10s %12d %10s%n",
                        first ? step : "", first ? n.name() : "", first ? n.op().kind() : "", o.shape(),
                        first ? flops(f) : "", first ? (algo.isEmpty() ? "-" : algo) : "",
                        m.offset()[o.id()], Units.bytes(m.bytes()[o.id()])));
            }
            step++;
        }
        if (!g.persistent().isEmpty()) {
            sb.append(String.format("%npersistent tensors (%s stored in the plan)%n",
                    plan.tensors().isEmpty() ? "none" : plan.tensors().size() + ""));
            for (Value v : g.persistent()) {
                sb.append(String.format("  %-40s %-6s %-20s %12d %10s%n", v.name(), v.kind(), v.shape(),
                        m.offset()[v.id()], Units.bytes(m.bytes()[v.id()])));
            }
        }
        if (!g.updates().isEmpty()) {
            sb.append(String.format("%nupdates applied after each run%n"));
            for (Graph.Update u : g.updates()) sb.append(String.format("  %s <- %s%n", u.target().name(), u.source().name()));
        }
        return sb.toString();
    }

    static String flops(long f) {
        if (f < 1_000) return f + "";
        if (f < 1_000_000) return String.format("%.1f K", f / 1e3);
        if (f < 1_000_000_000) return String.format("%.2f M", f / 1e6);
        return String.format("%.2f G", f / 1e9);
    }
}
