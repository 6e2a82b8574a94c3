package dev.stride.bench;

import dev.stride.engine.Session;
import dev.stride.engine.Tensor;
import dev.stride.graph.Plan;
import dev.stride.zoo.Classifier;
import dev.stride.zoo.ImageClassifier;
import dev.stride.zoo.Zoo;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A whole network's forward pass (inference plan: batch norm on running statistics, conv + bn + ReLU fused where
 * the cpu target fuses them) on random images, compiled by the backend's own target: ResNet-18, VGG-16, MobileNet v1
 * from the zoo, at {@code size x size} (224 for the numbers; smaller for smoke runs), for 1 and 2 threads.
 * {@link Suite} runs ResNet-18 at batch 1 and 8 and the others at batch 1. A call copies the images in and the
 * logits out, as an application's call does. {@code flop} counts {@code Plan.flops()} of the plan.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
@Fork(value = 1, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector", "-Xmx6g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class NetworkBenchmark {
    /** A name from {@link Zoo#CLASSIFIERS}. */
    @Param({"resnet18", "vgg16", "mobilenet_v1"})
    public String net;

    @Param({"1"})
    public int batch;

    @Param({"1", "2"})
    public int threads;

    @Param({"224"})
    public int size;

    /** cpu, or reference (slow: for small sizes). */
    @Param({"cpu"})
    public String backend;

    private Session session;
    private Map<String, Tensor> inputs;
    private long flops;

    @Setup(Level.Trial)
    public void setUp() {
        ImageClassifier model = Zoo.classifier(net);
        Plan plan = model.inferencePlan(batch, size, Plans.target(backend));
        session = Plans.open(plan, backend, threads);
        inputs = Map.of(Classifier.IMAGES, Plans.uniform(model.inputShape(batch, size), -1, 1, 1));
        flops = plan.flops();
        System.out.println("# " + net + " " + size + "x" + size + " batch " + batch + " on " + backend + ", " + threads
                + " thread(s): " + flops + " FLOP per call");
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (session != null) session.close();
    }

    @Benchmark
    public Map<String, Tensor> forward(FlopCounter counter) {
        counter.flop += flops;
        return session.run(inputs);
    }
}
