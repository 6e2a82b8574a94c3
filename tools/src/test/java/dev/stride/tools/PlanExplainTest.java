package dev.stride.tools;

import dev.stride.graph.DType;
import dev.stride.graph.Node;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.zoo.Classifier;
import dev.stride.zoo.LeNet5;
import dev.stride.graph.Compiler;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

class PlanExplainTest {
    @Test
    void listsEveryScheduledNodeWithItsBufferAndFlops() {
        Plan plan = Classifier.inferencePlan(LeNet5::logits, Shape.of(2, 1, 28, 28), DType.F32, Compiler.Target.reference());
        String text = PlanExplain.explain(plan);
        assertTrue(text.contains("arena " + Units.bytes(plan.memory().arenaBytes())), text);
        assertTrue(text.contains("naive sum of buffers " + Units.bytes(plan.memory().naiveArenaBytes())), text);
        for (Node n : plan.scheduledNodes()) {
            String row = text.lines().filter(l -> l.contains(" " + n.name() + " ")).findFirst()
                    .orElseThrow(() -> new AssertionError("no row for " + n.name() + " in\n" + text));
            assertTrue(row.contains(n.op().kind()), row);
            assertTrue(row.contains(String.valueOf(plan.memory().offset()[n.outputs().getFirst().id()])), row);
            assertTrue(row.contains(PlanExplain.flops(n.op().flops(n.inputShapes(), n.outputShapes()))), row);
        }
        assertTrue(text.contains("c1/weight"), "persistent tensors are listed");
    }
}
