package dev.stride.zoo;

import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.engine.cpu.CpuBackend;
import dev.stride.engine.cuda.CudaBackend;
import dev.stride.graph.Plan;
import dev.stride.graph.Value;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Zoo classifiers' inference plans compiled for the cuda backend run on the emulated device (the cuda backend's own
 * kernels compiled by g++) and give the cpu backend's logits, with the same random weights and random batch-norm
 * running statistics (so that the batch norms fused into the convolutions before them do real work). The plans fuse
 * conv + batch norm + ReLU chains on both backends, each its own way.
 */
class CudaZooInferenceTest {
    @ParameterizedTest(name = "{0} at {1}x{1}")
    @CsvSource({"resnet18, 32", "mobilenet_v1, 32", "googlenet, 64"})
    void logitsMatchTheCpuBackend(String name, int size) {
        var emulated = CudaBackend.emulated();
        String why = emulated.unavailableReason();
        assumeTrue(why == null, "the emulated cuda device is unavailable: " + why);
        ImageClassifier model = Zoo.classifier(name, 10);
        Plan onCuda = model.inferencePlan(2, size, emulated.target());
        Plan onCpu = model.inferencePlan(2, size, new CpuBackend().target());
        long fused = onCuda.algorithms().stream().filter(a -> a.startsWith("cudnn+bn")).count();
        assertTrue(fused > 0, name + ": no conv + batch norm chain fused for cuda: " + onCuda.algorithms());

        SplittableRandom r = new SplittableRandom(11);
        float[] x = new float[(int) model.inputShape(2, size).size()];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() * 2 - 1);
        Map<String, Tensor> feeds = Map.of(Classifier.IMAGES, Tensor.of(model.inputShape(2, size), x));
        try (Session cpu = Session.open(onCpu, "cpu", SessionOptions.defaults().withThreads(2).withSeed(5));
             Session cuda = Session.open(onCuda, emulated, SessionOptions.defaults().withSeed(5))) {
            for (Value v : onCpu.graph().values()) {
                if (v.kind() != Value.Kind.STATE) continue;   // running statistics: mean in [-0.5, 0.5), var in [0.5, 2)
                float[] s = new float[(int) v.shape().size()];
                boolean variance = v.name().endsWith("var");
                for (int i = 0; i < s.length; i++) s[i] = (float) (variance ? 0.5 + 1.5 * r.nextDouble() : r.nextDouble() - 0.5);
                cpu.set(v.name(), Tensor.of(v.shape(), s));
            }
            assertTrue(cuda.copyPersistentFrom(cpu) > 0);
            float[] want = cpu.run(feeds).get(Classifier.LOGITS).toFloatArray();
            float[] got = cuda.run(feeds).get(Classifier.LOGITS).toFloatArray();
            double diff = 0, norm = 0;
            for (int i = 0; i < want.length; i++) {
                diff += (got[i] - want[i]) * (double) (got[i] - want[i]);
                norm += want[i] * (double) want[i];
            }
            // Float32 on both sides with different summation orders through a deep network: ~1e-6 relative.
            double rel = Math.sqrt(diff / norm);
            assertTrue(rel < 1e-4, name + ": ||cuda - cpu|| / ||cpu|| = " + rel);
        }
    }
}
