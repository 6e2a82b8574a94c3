package dev.stride.engine.cuda;

import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Init;
import dev.stride.graph.Optimizer;
import dev.stride.graph.Shape;
import dev.stride.graph.TrainSpec;
import dev.stride.graph.Value;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * End to end through the DSL's trainStep: a classifier of element-wise and layout ops (per-feature scale and bias,
 * the logits a concatenation of the features and their transposed-back mirror image, a log-softmax penalty) trained
 * with softmax cross-entropy, clipping by global norm and each optimizer (SGD with Nesterov momentum, Adam, AdamW,
 * centered RMSprop with momentum), a few steps on the cuda backend ({@link CudaCrossBackend#backend()}) and on the
 * float32 reference from the same parameters: every step's loss, and every parameter and optimizer state after the
 * last step (Adam's step counter included), agree.
 */
@Tag("cuda-kernels")
class CudaTrainStepTest {
    private static final int N = 5, F = 3, STEPS = 4;

    static Stream<Optimizer> optimizers() {
        return Stream.of(new Optimizer.Sgd(0.9, 1e-3, true), new Optimizer.Adam(), new Optimizer.AdamW(),
                new Optimizer.RmsProp(0.9, 1e-8, 0.5, 1e-3, true));
    }

    private static Graph model(Optimizer opt) {
        var b = new GraphBuilder(DType.F32, true, 42);
        Value x = b.input("x", N, F), labels = b.input("labels", N);
        Value w = b.param("w", Shape.of(F), Init.fanInUniform());
        Value bias = b.param("b", Shape.of(F), Init.constant(0.1));
        Value h = b.add(b.mul(x, w), bias);
        Value mirror = b.transpose(b.transpose(b.scale(h, -0.5), 1, 0), 1, 0);
        Value logits = b.concat(1, h, mirror);                         // [N, 2F]
        Value penalty = b.reduceMean(b.logSoftmax(logits, -1), false, 0, 1);
        Value loss = b.add(b.softmaxCrossEntropy(logits, labels), b.scale(penalty, -0.01));
        b.output("loss", loss);
        b.trainStep(loss, TrainSpec.of(opt).withClipNorm(0.5));
        return b.build();
    }

    @ParameterizedTest
    @MethodSource("optimizers")
    void trainingStepsMatchTheReference(Optimizer opt) {
        CudaCrossBackend.assumeUsable();
        Graph g = model(opt);
        var cudaPlan = Compiler.compile(g, CudaCrossBackend.backend().target());
        String missing = CudaBackend.kernels().missing(cudaPlan);
        assertTrue(missing == null, "no cuda kernel for " + missing);
        Random r = new Random(3);
        Tensor x = Tensor.zeros(DType.F32, Shape.of(N, F)), labels = Tensor.zeros(DType.F32, Shape.of(N));
        for (long i = 0; i < x.size(); i++) x.set(i, r.nextDouble() * 2 - 1);
        for (int i = 0; i < N; i++) labels.set(i, r.nextInt(2 * F));
        CudaTolerances.Tol tol = CudaTolerances.of("training");
        try (Session cuda = Session.open(cudaPlan, CudaCrossBackend.backend(), SessionOptions.defaults().withSeed(9));
             Session ref = Session.open(Compiler.compile(g), "reference", SessionOptions.defaults().withSeed(9))) {
            ref.copyPersistentFrom(cuda);
            double first = 0, last = 0;
            for (int step = 0; step < STEPS; step++) {
                Map<String, Tensor> feeds = new LinkedHashMap<>(Map.of("x", x, "labels", labels,
                        "lr", Tensor.scalar(DType.F32, 0.05 * Math.pow(0.8, step))));
                double a = cuda.run(feeds).get("loss").get(0), c = ref.run(feeds).get("loss").get(0);
                assertTrue(Math.abs(a - c) <= tol.atol() + tol.rtol() * Math.abs(c),
                        opt.name() + ", loss at step " + step + ": cuda " + a + ", reference " + c);
                if (step == 0) first = a;
                last = a;
            }
            assertTrue(last < first, opt.name() + " lowers the loss: " + first + " -> " + last);
            Map<String, Tensor> want = ref.persistent(), got = cuda.persistent();
            assertTrue(want.size() > 2, "parameters and optimizer states: " + want.keySet());
            for (String p : want.keySet()) {
                Tensor a = got.get(p), c = want.get(p);
                for (long i = 0; i < a.size(); i++)
                    assertTrue(Math.abs(a.get(i) - c.get(i)) <= tol.atol() + tol.rtol() * Math.abs(c.get(i)),
                            opt.name() + ": " + p + "[" + i + "] after " + STEPS + " steps: cuda " + a.get(i)
                                    + ", reference " + c.get(i) + " (states " + List.copyOf(want.keySet()) + ")");
            }
        }
    }
}
