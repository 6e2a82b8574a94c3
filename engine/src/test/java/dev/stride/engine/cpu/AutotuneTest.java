package dev.stride.engine.cpu;

import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.ConvSpec;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Node;
import dev.stride.graph.Plan;
import dev.stride.graph.PlanFile;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.Conv2dBackwardData;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The measured target: valid entries, fusion as the heuristic decides it, saved and loaded without measuring. */
class AutotuneTest {
    /** Winograd-able 3x3 convs (two alike), a depthwise conv, a 1x1 conv; inference, batch norm and ReLU fused. */
    static Graph network() {
        GraphBuilder b = new GraphBuilder(DType.F32, false);
        Value x = b.input("x", 2, 16, 12, 12);
        Value y = b.relu(b.batchNorm2d("bn1", b.conv2d("c1", x, 16, 3, ConvSpec.defaults().pad(1))));
        y = b.conv2d("c2", y, 16, 3, ConvSpec.defaults().pad(1).groups(16));
        y = b.conv2d("c3", y, 16, 3, ConvSpec.defaults().pad(1));
        y = b.conv2d("c4", y, 8, 1, ConvSpec.defaults());
        b.output("y", y);
        return b.build();
    }

    static Autotuner.Options quick(List<String> log) {
        return Autotuner.Options.defaults().withThreads(1).withWarmup(Duration.ofMillis(5)).withRuns(3).withLog(log::add);
    }

    @Test
    void autotunedPlanHasValidEntriesAndLoadsWithoutMeasuring() throws Exception {
        List<String> log = new ArrayList<>();
        Graph g = network();
        Plan tuned = Compiler.compile(g, new CpuBackend().autotuned(quick(log)));
        Plan heuristic = Compiler.compile(g, new CpuBackend().target());
        checkEntries(tuned, heuristic);
        assertEquals(4, log.size(), "one line per measured conv: " + log);
        assertTrue(log.stream().allMatch(l -> l.contains(" -> ")), log.toString());
        assertTrue(log.get(2).startsWith("autotune 'c3': as 'c1'"), "c3 is c1's twin: " + log);
        assertEquals("measured, 1 thread", tuned.targetInfo().get("tuning"));

        Plan loaded = PlanFile.fromBytes(PlanFile.toBytes(tuned));
        assertEquals(tuned.algorithms(), loaded.algorithms());
        assertEquals(tuned.targetInfo(), loaded.targetInfo());

        int lines = log.size();
        Tensor x = Tensor.zeros(DType.F32, Shape.of(2, 16, 12, 12));
        Random r = new Random(1);
        for (long i = 0; i < x.size(); i++) x.set(i, r.nextDouble());
        try (Session s = Session.open(loaded, "cpu", SessionOptions.defaults().withThreads(1))) {
            s.run(Map.of("x", x));
            for (Node n : loaded.scheduledNodes()) {
                String ran = s.algorithm(n.id()), planned = loaded.algorithms().get(n.id());
                assertTrue(ran.equals(planned) || ran.equals(CpuAlgorithms.REFERENCE),
                        n.name() + " ran " + ran + ", planned " + planned);
            }
        }
        assertEquals(lines, log.size(), "loading and running the plan measured nothing");
    }

    @Test
    void noBudgetMeansTheHeuristicChoice() {
        List<String> log = new ArrayList<>();
        Graph g = network();
        Plan tuned = Compiler.compile(g, new CpuBackend().autotuned(quick(log).withBudget(Duration.ZERO)));
        assertEquals(Compiler.compile(g, new CpuBackend().target()).algorithms(), tuned.algorithms());
        assertTrue(log.stream().filter(l -> !l.contains(": as '")).allMatch(l -> l.contains("budget spent")), log.toString());
    }

    /** A training step: weights rewritten every run, a data-gradient node among the measured ones. */
    @Test
    void trainingGraphsAreMeasuredToo() {
        List<String> log = new ArrayList<>();
        GraphBuilder b = new GraphBuilder(DType.F32, true);
        Value y = b.relu(b.conv2d("c1", b.input("x", 2, 16, 10, 10), 16, 3, ConvSpec.defaults().pad(1)));
        y = b.conv2d("c2", y, 16, 3, ConvSpec.defaults().pad(1));
        b.sgdStep(b.mseLoss(y, b.input("target", 2, 16, 10, 10)), 0.9);
        Graph g = b.build();
        Plan tuned = Compiler.compile(g, new CpuBackend().autotuned(quick(log)));
        checkEntries(tuned, Compiler.compile(g, new CpuBackend().target()));
        assertTrue(log.stream().anyMatch(l -> l.contains(Conv2dBackwardData.class.getSimpleName())), log.toString());
        assertTrue(tuned.scheduledNodes().stream().anyMatch(n -> n.op() instanceof Conv2dBackwardData));
    }

    /**
     * Every entry is a candidate of its node (plus the heuristic plan's fusion suffix), or exactly the heuristic
     * entry for nodes with one algorithm or absorbed into a fusion.
     */
    static void checkEntries(Plan tuned, Plan heuristic) {
        for (Node n : tuned.scheduledNodes()) {
            String e = tuned.algorithms().get(n.id()), h = heuristic.algorithms().get(n.id());
            List<String> candidates = ConvChooser.candidates(n);
            if (candidates.size() < 2 || Plan.fusedInto(h) >= 0 || h.equals(CpuAlgorithms.REFERENCE)) {
                assertEquals(h, e, n.name());
                continue;
            }
            int plus = e.indexOf('+');
            String base = plus < 0 ? e : e.substring(0, plus), suffix = plus < 0 ? "" : e.substring(plus);
            assertTrue(candidates.contains(base), n.name() + ": " + e + " not among " + candidates);
            int hp = h.indexOf('+');
            assertEquals(hp < 0 ? "" : h.substring(hp), suffix, n.name() + ": the fusion is the heuristic's");
        }
    }
}
