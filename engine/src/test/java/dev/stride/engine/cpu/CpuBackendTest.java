package dev.stride.engine.cpu;

import dev.stride.engine.Backend;
import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.op.Affine;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/** The backend's plumbing: registration, fallback reporting, float64 plans, the cross-backend harness itself. */
class CpuBackendTest {
    @Test
    void isRegisteredAndUsable() {
        assertEquals("cpu", Backend.named("cpu").name());
        assertNotNull(CpuBackend.info().get("vector"));
    }

    @Test
    void runsAFloat64PlanOnTheReferenceKernels() {
        GraphBuilder b = new GraphBuilder(DType.F64, false);
        b.output("y", b.apply("affine", new Affine(2, 1), b.input("x", 3)));
        Plan p = Compiler.compile(b.build(), new CpuBackend().target());
        try (Session s = Session.open(p, "cpu", SessionOptions.defaults())) {
            Tensor y = s.run(Map.of("x", Tensor.of(Shape.of(3), 1.0, 2.0, 3.0))).get("y");
            assertEquals(7.0, y.get(2));
            assertEquals(CpuAlgorithms.REFERENCE, s.algorithm(p.graph().nodes().getFirst().id()));
        }
    }

    @Test
    void harnessComparesAffineAndItsGradient() {
        var r = CrossBackend.check(List.of(Shape.of(5, 7)),
                (b, x) -> List.of(b.apply("affine", new Affine(-1.5, 0.25), x.getFirst())), 1,
                CrossBackend.Options.forward("elementwise", Affine.class).withGradients(0));
        assertEquals(2, r.worstRatio().size());
    }
}
