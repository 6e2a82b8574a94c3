package dev.stride.engine.reference;

import dev.stride.engine.GradCheck;
import dev.stride.engine.Session;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.GraphException;
import dev.stride.graph.Shape;
import dev.stride.graph.op.Binary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CoreOpsTest {
    @Test
    void broadcastAddComputesRowPlusColumn() {
        var b = new GraphBuilder(DType.F32, false);
        var x = b.input("x", 2, 1);
        var y = b.input("y", 3);
        b.output("z", b.apply("add", new Binary(Binary.Kind.ADD), x, y));
        try (Session s = Session.open(Compiler.compile(b.build()))) {
            Tensor z = s.run(Map.of("x", Tensor.of(Shape.of(2, 1), 10f, 20f), "y", Tensor.of(Shape.of(3), 1f, 2f, 3f))).get("z");
            assertEquals(Shape.of(2, 3), z.shape());
            assertEquals(List.of(11f, 12f, 13f, 21f, 22f, 23f), List.of(box(z.toFloatArray())));
        }
    }

    private static Float[] box(float[] a) {
        Float[] r = new Float[a.length];
        for (int i = 0; i < a.length; i++) r[i] = a[i];
        return r;
    }

    @Test
    void incompatibleBroadcastNamesNodeShapesAndRule() {
        var b = new GraphBuilder(DType.F32, false);
        var x = b.input("x", 2, 3);
        var y = b.input("y", 4);
        var e = assertThrows(GraphException.class, () -> b.apply("sum", new Binary(Binary.Kind.ADD), x, y));
        assertTrue(e.getMessage().contains("node 'sum'"), e.getMessage());
        assertTrue(e.getMessage().contains("[2, 3], [4]"), e.getMessage());
        assertTrue(e.getMessage().contains("dimension 1 (from the right) is 3 vs 4"), e.getMessage());
    }

    @Property(tries = 25)
    void binaryGradientsMatchFiniteDifferences(@ForAll Binary.Kind kind,
                                               @ForAll @IntRange(min = 1, max = 3) int rows,
                                               @ForAll @IntRange(min = 1, max = 4) int cols,
                                               @ForAll boolean broadcastB) {
        Shape a = Shape.of(rows, cols);
        Shape c = broadcastB ? Shape.of(1, cols) : a;
        var inputs = GradCheck.randomInputs(List.of(a, c), rows * 31L + cols);
        if (kind == Binary.Kind.DIV) {   // keep the divisor away from 0
            Tensor d = inputs.get("x1");
            for (long i = 0; i < d.size(); i++) d.set(i, 1.5 + d.get(i));
        }
        if (kind == Binary.Kind.POW) {   // a positive base: a^b is smooth in both there
            Tensor d = inputs.get("x0");
            for (long i = 0; i < d.size(); i++) d.set(i, 0.5 + Math.abs(d.get(i)));
        }
        GradCheck.check(List.of(a, c), inputs,
                (gb, xs) -> List.of(gb.apply("op", new Binary(kind), xs.get(0), xs.get(1))), 3, 1e-6, 1e-6, 50);
    }
}
