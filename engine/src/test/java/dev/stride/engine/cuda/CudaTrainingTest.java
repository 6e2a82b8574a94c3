package dev.stride.engine.cuda;

import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.engine.cpu.CpuBackend;
import dev.stride.graph.Autodiff;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Init;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.SumTo;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end: a small model made only of element-wise ops (per-feature scale and bias, per-channel PReLU, dropout,
 * clip, tanh, squared error) trained by plain SGD written as graph updates (w <- w - lr * dL/dw, Affine and Add), a
 * few steps on the cuda backend (emulated device by default) and on the cpu backend from the same initial
 * parameters: every step's loss and the final parameters agree. Dropout's mask changes with the step, so the
 * backends must also agree on the step counter.
 */
@Tag("cuda-kernels")
class CudaTrainingTest {
    private static final int N = 6, F = 5, STEPS = 5;
    private static final double LR = 0.1;

    private static Graph model() {
        var b = new GraphBuilder(DType.F32, true, 42);
        Value x = b.input("x", N, F), t = b.input("t", N, F);
        Value w = b.param("w", Shape.of(F), Init.fanInUniform());
        Value bias = b.param("b", Shape.of(F), Init.constant(0.1));
        Value h = b.add(b.mul(x, w), bias);
        h = b.prelu("act", h, true);
        h = b.dropout(h, 0.2);
        h = b.clip(h, -1.5, 1.5);
        Value y = b.tanh(h);
        Value loss = b.scale(b.apply("sum", new SumTo(new int[0]), b.square(b.sub(y, t))), 1.0 / N);
        b.output("loss", loss);
        List<Value> params = List.of(w, bias, b.value("act/slope"));
        Map<Value, Value> grads = Autodiff.gradients(b, loss, params);
        for (Value p : params) b.update(p, b.add(p, b.scale(grads.get(p), -LR)));
        return b.build();
    }

    @Test
    void sgdStepsMatchTheCpuBackend() {
        CudaCrossBackend.assumeUsable();
        Graph g = model();
        var cudaPlan = Compiler.compile(g, CudaCrossBackend.backend().target());
        var cpuPlan = Compiler.compile(g, new CpuBackend().target());
        Random r = new Random(5);
        Tensor x = Tensor.zeros(DType.F32, Shape.of(N, F)), t = Tensor.zeros(DType.F32, Shape.of(N, F));
        for (long i = 0; i < x.size(); i++) {
            x.set(i, r.nextDouble() * 2 - 1);
            t.set(i, Math.tanh(1.5 * x.get(i) - 0.2));
        }
        CudaTolerances.Tol tol = CudaTolerances.of("training");
        try (Session cuda = Session.open(cudaPlan, CudaCrossBackend.backend(), SessionOptions.defaults().withSeed(9));
             Session cpu = Session.open(cpuPlan, "cpu", SessionOptions.defaults().withSeed(9))) {
            cpu.copyPersistentFrom(cuda);
            double first = 0, last = 0;
            for (int step = 0; step < STEPS; step++) {
                Map<String, Tensor> feeds = new LinkedHashMap<>(Map.of("x", x, "t", t));
                double a = cuda.run(feeds).get("loss").get(0), c = cpu.run(feeds).get("loss").get(0);
                assertTrue(Math.abs(a - c) <= tol.atol() + tol.rtol() * Math.abs(c), "loss at step " + step + ": cuda " + a + ", cpu " + c);
                if (step == 0) first = a;
                last = a;
            }
            assertTrue(last < first, "SGD lowers the loss: " + first + " -> " + last);
            for (String p : List.of("w", "b", "act/slope")) {
                Tensor a = cuda.get(p), c = cpu.get(p);
                for (long i = 0; i < a.size(); i++)
                    assertTrue(Math.abs(a.get(i) - c.get(i)) <= tol.atol() + tol.rtol() * Math.abs(c.get(i)),
                            p + "[" + i + "] after " + STEPS + " steps: cuda " + a.get(i) + ", cpu " + c.get(i));
            }
        }
    }
}
