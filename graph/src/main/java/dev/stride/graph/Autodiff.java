package dev.stride.graph;

import dev.stride.graph.op.Binary;
import dev.stride.graph.op.Fill;

import java.util.BitSet;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reverse-mode differentiation at compile time: walks the forward nodes backwards from a scalar loss and asks
 * each op for its input gradients as more graph ops. Gradients reaching a value along several paths are summed.
 */
public final class Autodiff {
    private Autodiff() {}

    /**
     * Adds the backward graph of {@code loss} to {@code b} and returns d(loss)/d(v) for every {@code v} in
     * {@code wrt} that the loss depends on; values the loss does not depend on are absent from the map.
     */
    public static Map<Value, Value> gradients(GraphBuilder b, Value loss, Collection<Value> wrt) {
        if (loss.shape().rank() != 0)
            throw new GraphException("loss " + loss.name() + " must be a scalar (shape []), got " + loss.shape());
        Graph g = b.build0();
        List<Node> nodes = g.nodes();
        int forwardNodes = loss.producer() + 1;

        // Values that depend on a wrt value (forward reach), restricted to nodes up to the loss.
        BitSet dependsOnWrt = new BitSet();
        for (Value v : wrt) dependsOnWrt.set(v.id());
        for (int i = 0; i < forwardNodes; i++) {
            Node n = nodes.get(i);
            boolean any = n.inputs().stream().anyMatch(v -> dependsOnWrt.get(v.id()));
            if (any) for (Value o : n.outputs()) dependsOnWrt.set(o.id());
        }

        Map<Integer, Value> grads = new HashMap<>();
        grads.put(loss.id(), b.apply("grad/seed", new Fill(new int[0], 1.0)));
        for (int i = forwardNodes - 1; i >= 0; i--) {
            Node n = nodes.get(i);
            boolean anyGrad = n.outputs().stream().anyMatch(o -> grads.containsKey(o.id()));
            boolean anyInputWanted = n.inputs().stream().anyMatch(v -> dependsOnWrt.get(v.id()));
            if (!anyGrad || !anyInputWanted) continue;
            GradContext ctx = new GradContext() {
                @Override public GraphBuilder builder() { return b; }
                @Override public Node node() { return n; }
                @Override public Value gradOutput(int k) { return grads.get(n.outputs().get(k).id()); }
                @Override public boolean needsGrad(int k) { return dependsOnWrt.get(n.inputs().get(k).id()); }
            };
            List<Value> inGrads;
            try (var s = b.scope("grad")) {
                inGrads = n.op().backward(ctx);
            }
            if (inGrads.size() != n.inputs().size())
                throw new IllegalStateException(n + " backward returned " + inGrads.size() + " gradients for "
                        + n.inputs().size() + " inputs");
            for (int k = 0; k < inGrads.size(); k++) {
                Value gk = inGrads.get(k);
                Value in = n.inputs().get(k);
                if (gk == null || !ctx.needsGrad(k)) continue;
                if (!gk.shape().equals(in.shape()))
                    throw new IllegalStateException(n + " backward: gradient of input " + k + " has shape "
                            + gk.shape() + ", input has " + in.shape());
                Value prev = grads.get(in.id());
                grads.put(in.id(), prev == null ? gk
                        : b.apply("grad/accumulate", new Binary(Binary.Kind.ADD), prev, gk));
            }
        }
        Map<Value, Value> out = new LinkedHashMap<>();
        for (Value v : wrt) {
            Value gv = grads.get(v.id());
            if (gv != null) out.put(v, gv);
        }
        return out;
    }
}
