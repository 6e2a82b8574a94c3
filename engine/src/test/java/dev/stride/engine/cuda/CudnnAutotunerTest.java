package dev.stride.engine.cuda;

import dev.stride.cuda.CudaLibraries;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.Shape;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** The autotuned cuda target without a GPU: the base target's entries, and a log line that says why. */
class CudnnAutotunerTest {
    @Test
    void withoutAGpuNothingIsMeasuredAndTheLogSaysWhy() {
        assumeFalse(CudaLibraries.system().available(), "a GPU is usable here: CudnnGpuTest measures instead");
        List<String> log = new ArrayList<>();
        Compiler.Target t = CudnnAutotuner.target(CudnnAutotuner.Options.defaults().withLog(log::add)
                .withBudget(Duration.ofSeconds(5)));
        assertTrue(t.info().get("tuning").startsWith("cuDNN engines measured (float32 math, deterministic"), t.info().toString());
        ConvCase k = ConvCase.draw(11);
        Graph g = OneNode.graph(DType.F32, k.conv(), List.of(k.x(), k.weight()));
        var plan = Compiler.compile(g, t);
        assertEquals(Compiler.compile(g, new CudaBackend().target()).algorithms(), plan.algorithms());
        assertEquals(1, log.size(), log.toString());
        assertTrue(log.getFirst().startsWith("autotune: nothing measured, no usable GPU: CUDA is not usable:"), log.getFirst());
    }

    @Test
    void onlyConvolutionsAreTuned() {
        ConvCase k = ConvCase.draw(2);
        assertTrue(CudnnAutotuner.isConvolution(ConvProblemTest.node(k.conv(), k.x(), k.weight())));
        assertTrue(CudnnAutotuner.isConvolution(ConvProblemTest.node(k.conv().backwardFilter(k.kh(), k.kw()), k.x(), k.output())));
        assertTrue(!CudnnAutotuner.isConvolution(ConvProblemTest.node(new dev.stride.graph.op.Dense(), Shape.of(2, 3), Shape.of(4, 3))));
    }
}
