package dev.stride.zoo;

import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.engine.cpu.CpuBackend;
import dev.stride.engine.cuda.CudaBackend;
import dev.stride.graph.DType;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * LeNet-5's training plan, compiled for the cuda backend, runs on the emulated device (the cuda backend's own CUDA C
 * kernels compiled by g++; direct convolutions and GEMMs in place of cuDNN and cuBLAS) and follows the cpu backend
 * step by step: every op of a real training step has a cuda kernel and they compose. The GPU itself is checked by
 * tools/gpu-check.sh, which trains LeNet-5 on MNIST with --backend cuda.
 */
class CudaLeNetTrainingTest {
    @Test
    void fiveSgdStepsFollowTheCpuBackend() {
        var emulated = CudaBackend.emulated();
        String why = emulated.unavailableReason();
        assumeTrue(why == null, "the emulated cuda device is unavailable: " + why);
        int batch = 8;
        Shape images = Shape.of(batch, 1, 28, 28);
        Plan onCuda = Classifier.trainingPlan(LeNet5::logits, images, DType.F32, 0.9, 0, emulated.target());
        Plan onCpu = Classifier.trainingPlan(LeNet5::logits, images, DType.F32, 0.9, 0, new CpuBackend().target());

        SplittableRandom r = new SplittableRandom(7);
        float[] x = new float[batch * 28 * 28], labels = new float[batch];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextDouble();
        for (int i = 0; i < batch; i++) labels[i] = r.nextInt(LeNet5.CLASSES);
        Map<String, Tensor> feeds = Map.of(Classifier.IMAGES, Tensor.of(images, x),
                Classifier.LABELS, Tensor.of(Shape.of(batch), labels), Classifier.LR, Tensor.scalar(DType.F32, 0.05));

        try (Session cpu = Session.open(onCpu, "cpu", SessionOptions.defaults().withThreads(1).withSeed(3));
             Session cuda = Session.open(onCuda, emulated, SessionOptions.defaults().withSeed(3))) {
            assertTrue(cuda.copyPersistentFrom(cpu) > 0);   // the same initial weights
            float first = 0, last = 0;
            for (int step = 0; step < 5; step++) {
                float lc = cpu.run(feeds).get(Classifier.LOSS).toFloatArray()[0];
                float lg = cuda.run(feeds).get(Classifier.LOSS).toFloatArray()[0];
                // Float32 on both sides, different summation orders (blocked GEMMs against one-thread-per-output
                // loops): a few ulp per step, compounding over the five steps.
                assertEquals(lc, lg, 1e-4 * Math.max(1, Math.abs(lc)), "loss at step " + step);
                if (step == 0) first = lg;
                last = lg;
            }
            assertTrue(last < first, "five steps on one batch lower the loss: " + first + " -> " + last);
        }
    }
}
