package dev.stride.zoo.generative;

import dev.stride.engine.Session;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.GraphException;
import dev.stride.graph.Init;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

class SharedLayersTest {
    private static final Shape X = Shape.of(3, 2, 4, 4);

    private static Tensor random(long seed) {
        var r = new SplittableRandom(seed);
        double[] a = new double[(int) X.size()];
        for (int i = 0; i < a.length; i++) a[i] = 1 + 2 * r.nextGaussian();
        return Tensor.of(X, a);
    }

    /**
     * Two tracked applications in one graph leave the running statistics where two runs of the DSL's own batchNorm2d
     * (PyTorch's update) leave them, and use the batch statistics of their own input.
     */
    @Test
    void twoTrackedApplicationsAdvanceTheRunningStatisticsAsTwoPasses() {
        Tensor x1 = random(1), x2 = random(2);

        var b = new GraphBuilder(DType.F64, true);
        Value a = b.input("a", X), c = b.input("c", X);
        var l = new SharedLayers(b);
        Value ya = l.batchNorm("bn", a, true), yc = l.batchNorm("bn", c, true);
        l.finish();
        b.output("ya", ya).output("yc", yc);
        assertEquals(2, b.params().size(), "one weight and one bias for both applications");

        var ref = new GraphBuilder(DType.F64, true);
        Value r = ref.input("x", X);
        ref.output("y", ref.batchNorm2d("bn", r));

        try (Session s = Session.open(Compiler.compile(b.build())); Session t = Session.open(Compiler.compile(ref.build()))) {
            var o = s.run(Map.of("a", x1, "c", x2));
            var y1 = t.run(Map.of("x", x1)).get("y");
            var y2 = t.run(Map.of("x", x2)).get("y");
            assertArrayEquals(y1.toDoubleArray(), o.get("ya").toDoubleArray(), 1e-12);
            assertArrayEquals(y2.toDoubleArray(), o.get("yc").toDoubleArray(), 1e-12);
            for (String st : new String[] {"bn/running_mean", "bn/running_var"}) {
                assertArrayEquals(t.get(st).toDoubleArray(), s.get(st).toDoubleArray(), 1e-12, st);
                assertFalse(s.get(st).toDoubleArray()[0] == (st.endsWith("mean") ? 0 : 1), st + " moved");
            }
        }
    }

    @Test
    void untrackedApplicationsHoldNoRunningStatisticsAndParametersAreShared() {
        var b = new GraphBuilder(DType.F32, true);
        Value x = b.input("x", 2, 3, 8, 8);
        var l = new SharedLayers(b);
        Value y1 = l.conv("c", x, 4, 3, dev.stride.graph.ConvSpec.defaults(), 0);
        Value y2 = l.conv("c", x, 4, 3, dev.stride.graph.ConvSpec.defaults(), 0);
        l.batchNorm("bn", y1, false);
        l.finish();
        assertEquals(4, b.params().size());                                   // c/weight, c/bias, bn/weight, bn/bias
        b.output("y1", y1).output("y2", y2);
        var g = b.build();
        assertEquals(0, g.states().size());
        try (Session s = Session.open(Compiler.compile(g))) {
            float[] in = new float[2 * 3 * 64];
            for (int i = 0; i < in.length; i++) in[i] = (float) Math.sin(i);
            var o = s.run(Map.of("x", Tensor.of(Shape.of(2, 3, 8, 8), in)));
            assertArrayEquals(o.get("y1").toFloatArray(), o.get("y2").toFloatArray());
        }
        assertThrows(GraphException.class, () -> l.param("c/weight", Shape.of(1), Init.zeros()));
    }
}
