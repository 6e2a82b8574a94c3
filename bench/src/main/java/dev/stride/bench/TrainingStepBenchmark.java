package dev.stride.bench;

import dev.stride.engine.Session;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Optimizer;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.TrainSpec;
import dev.stride.zoo.Classifier;
import dev.stride.zoo.LeNet5;
import dev.stride.zoo.generative.ConvVae;
import dev.stride.zoo.generative.Dcgan;
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

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One training step (forward, backward, optimizer update, all in the plan) on random data:
 * <ul>
 * <li>{@code lenet5}: {@link LeNet5} on 1x28x28 images, the zoo's {@link Classifier} training plan, SGD with momentum
 *     0.9, lr 0.01;
 * <li>{@code dcgan64}: {@link Dcgan} in the 64x64 geometry ({@link Dcgan.Config#dcgan64()}: nz 100, 64 filters,
 *     3 channels), one iteration as {@code GanTrainer} does it: the D step, the weights copied to the G session, the
 *     G step, copied back; Adam (0.5, 0.999), lr 2e-4;
 * <li>{@code convvae}: {@link ConvVae} with its default (small) configuration, 1x28x28, latent 16, widths 32 and 64,
 *     Adam, lr 1e-3.
 * </ul>
 * Batch 64 by default. {@code flop} counts {@code Plan.flops()} of the plans run per call (for the GAN both
 * steps'; the weight copies between the two sessions are not counted but timed). Plans are compiled by the
 * backend's own target; {@code -p backend=reference} runs the reference backend (the Suite does so for LeNet-5 only,
 * where it is cheap).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
@Fork(value = 1, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class TrainingStepBenchmark {
    @Param({"lenet5", "dcgan64", "convvae"})
    public String model;

    @Param({"64"})
    public int batch;

    @Param({"1", "2"})
    public int threads;

    /** cpu, or reference. */
    @Param({"cpu"})
    public String backend;

    private final List<Session> sessions = new ArrayList<>();
    private Runnable step;
    private long flops;

    @Setup(Level.Trial)
    public void setUp() {
        Compiler.Target target = Plans.target(backend);
        switch (model) {
            case "lenet5" -> {
                Plan p = Classifier.trainingPlan(LeNet5::logits, Shape.of(batch, 1, 28, 28), DType.F32, 0.9, 0, target);
                Session s = open(p);
                Map<String, Tensor> in = Map.of(Classifier.IMAGES, Plans.uniform(Shape.of(batch, 1, 28, 28), 0, 1, 1),
                        Classifier.LABELS, Plans.labels(batch, LeNet5.CLASSES, 2), Classifier.LR, lr(0.01));
                step = () -> s.run(in);
                flops = p.flops();
            }
            case "dcgan64" -> {
                Dcgan gan = new Dcgan(Dcgan.Config.dcgan64());
                TrainSpec adam = TrainSpec.of(Dcgan.dcganAdam());
                Plan dp = gan.discriminatorStepPlan(batch, adam, target), gp = gan.generatorStepPlan(batch, adam, target);
                Session d = open(dp), g = open(gp);
                g.copyPersistentFrom(d);
                Tensor z = Plans.gaussian(Shape.of(batch, gan.config().nz(), 1, 1), 3);
                Map<String, Tensor> dIn = Map.of(Dcgan.REAL, Plans.uniform(Shape.of(gan.imageShape(batch)), -1, 1, 4),
                        Dcgan.Z, z, Dcgan.D_LR, lr(2e-4));
                Map<String, Tensor> gIn = Map.of(Dcgan.Z, z, Dcgan.G_LR, lr(2e-4));
                step = () -> {
                    d.run(dIn);
                    g.copyPersistentFrom(d);
                    g.run(gIn);
                    d.copyPersistentFrom(g);
                };
                flops = dp.flops() + gp.flops();
            }
            case "convvae" -> {
                ConvVae vae = new ConvVae();
                Plan p = vae.trainingPlan(batch, TrainSpec.of(new Optimizer.Adam()), target);
                Session s = open(p);
                Map<String, Tensor> in = Map.of(ConvVae.IMAGES,
                        Plans.uniform(Shape.of(batch, 1, ConvVae.SIDE, ConvVae.SIDE), 0, 1, 5), ConvVae.LR, lr(1e-3));
                step = () -> s.run(in);
                flops = p.flops();
            }
            default -> throw new IllegalArgumentException("model must be lenet5, dcgan64 or convvae, got '" + model + "'");
        }
        System.out.println("# " + model + " training step, batch " + batch + " on " + backend + ", " + threads
                + " thread(s): " + flops + " FLOP per call");
    }

    private Session open(Plan p) {
        Session s = Plans.open(p, backend, threads);
        sessions.add(s);
        return s;
    }

    private static Tensor lr(double v) { return Tensor.scalar(DType.F32, v); }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (Session s : sessions) s.close();
        sessions.clear();
    }

    @Benchmark
    public void step(FlopCounter counter) {
        counter.flop += flops;
        step.run();
    }
}
