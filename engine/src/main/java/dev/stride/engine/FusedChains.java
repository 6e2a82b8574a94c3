package dev.stride.engine;

import dev.stride.graph.Node;
import dev.stride.graph.Plan;
import dev.stride.graph.Value;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A plan's fusions as a backend loads them: the nodes whose algorithm entry is {@code "fused:<head id>"}
 * ({@link Plan#FUSED_PREFIX}), grouped by their head. The head's kernel computes the whole chain and writes the last
 * node's output; the others get no kernel.
 */
public final class FusedChains {
    private FusedChains() {}

    /**
     * The nodes fused into each head, in schedule order, checked: a head is scheduled before its followers, and
     * the memory plan keeps the chain's outputs live from the head's step (a plan from elsewhere could claim a
     * fusion its memory plan does not allow for; running it would overwrite live buffers).
     */
    public static Map<Integer, List<Node>> of(Plan plan) {
        Map<Integer, List<Node>> chains = new HashMap<>();
        int[] stepOf = new int[plan.graph().nodes().size()];
        Arrays.fill(stepOf, -1);
        for (int step = 0; step < plan.schedule().length; step++) stepOf[plan.schedule()[step]] = step;
        for (int step = 0; step < plan.schedule().length; step++) {
            int id = plan.schedule()[step];
            int head = Plan.fusedInto(plan.algorithms().get(id));
            if (head < 0) continue;
            Node node = plan.graph().nodes().get(id);
            if (head >= stepOf.length || stepOf[head] < 0 || stepOf[head] >= step)
                throw new IllegalStateException("node '" + node.name() + "' is fused into node " + head
                        + ", which is not scheduled before it");
            if (Plan.fusedInto(plan.algorithms().get(head)) >= 0)
                throw new IllegalStateException("node '" + node.name() + "' is fused into node " + head
                        + ", which is itself fused");
            for (Value out : node.outputs()) {
                if (plan.memory().firstStep()[out.id()] > stepOf[head])
                    throw new IllegalStateException("node '" + node.name() + "' is fused into '"
                            + plan.graph().nodes().get(head).name() + "' but the memory plan makes '" + out.name()
                            + "' live only from step " + plan.memory().firstStep()[out.id()] + ", after the head's step "
                            + stepOf[head]);
            }
            chains.computeIfAbsent(head, h -> new ArrayList<>()).add(node);
        }
        return chains;
    }
}
