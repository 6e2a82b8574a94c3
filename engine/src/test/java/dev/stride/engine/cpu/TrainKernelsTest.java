package dev.stride.engine.cpu;

import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Init;
import dev.stride.graph.Node;
import dev.stride.graph.Optimizer;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.TrainSpec;
import dev.stride.graph.Value;
import dev.stride.graph.op.AdamUpdate;
import dev.stride.graph.op.BceWithLogits;
import dev.stride.graph.op.BceWithLogitsBackward;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.Dropout;
import dev.stride.graph.op.GaussianKl;
import dev.stride.graph.op.GaussianKlBackward;
import dev.stride.graph.op.GaussianNoise;
import dev.stride.graph.op.GlobalNormScale;
import dev.stride.graph.op.L1Loss;
import dev.stride.graph.op.L1LossBackward;
import dev.stride.graph.op.MseLoss;
import dev.stride.graph.op.Reparameterize;
import dev.stride.graph.op.ReparameterizeBackward;
import dev.stride.graph.op.RmsPropUpdate;
import dev.stride.graph.op.SgdUpdate;
import dev.stride.graph.op.SoftmaxCrossEntropy;
import dev.stride.graph.op.SoftmaxCrossEntropyBackward;
import dev.stride.graph.op.SumTo;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The loss, random and optimizer cpu kernels against the reference: {@link CrossBackend} properties (forward and
 * gradients, threads 1 and 2), the random streams bit for bit, three optimizer steps of training plans, thread-count
 * independence of split loops, and the scalar path.
 */
class TrainKernelsTest {
    /** Every op with a kernel in TrainKernels or ElementwiseKernels: none may run on the fallback here. */
    static final Class<?>[] MINE = Stream.concat(Arrays.stream(ElementwiseKernelsTest.MINE), Stream.of(
            SoftmaxCrossEntropy.class, SoftmaxCrossEntropyBackward.class, BceWithLogits.class,
            BceWithLogitsBackward.class, MseLoss.class, L1Loss.class, L1LossBackward.class, GaussianKl.class,
            GaussianKlBackward.class, Dropout.class, GaussianNoise.class, Reparameterize.class,
            ReparameterizeBackward.class, SgdUpdate.class, AdamUpdate.class, RmsPropUpdate.class,
            GlobalNormScale.class)).toArray(Class<?>[]::new);

    private static CrossBackend.Options options(String tol, int threads) {
        return CrossBackend.Options.forward(tol, MINE).withThreads(threads);
    }

    static Shape shape(Random r, int minRank, int maxRank, int maxDim) {
        int[] d = ElementwiseKernelsTest.dims(r, minRank + r.nextInt(maxRank - minRank + 1), maxDim);
        return Shape.of(d);
    }

    /** Class indices in [0, classes), stored as floats, as the reference expects labels. */
    static Tensor labels(int rows, int classes, long seed) {
        Random r = new Random(seed);
        Tensor t = Tensor.zeros(DType.F64, Shape.of(rows));
        for (int i = 0; i < rows; i++) t.set(i, r.nextInt(classes));
        return t;
    }

    static Tensor uniform(Shape s, long seed, double lo, double hi) {
        return ElementwiseKernelsTest.values(s, seed, lo, hi, false);
    }

    static Tensor scalar(double v) { return Tensor.scalar(DType.F64, v); }

    // ------------------------------------------------------------------------------------------ losses

    @Property(tries = 50)
    void softmaxCrossEntropyAndItsGradient(@ForAll @IntRange(min = 1, max = 9) int rows,
                                           @ForAll @IntRange(min = 1, max = 40) int classes,
                                           @ForAll @IntRange(min = 1, max = 2) int threads, @ForAll long seed) {
        CrossBackend.check(List.of(Shape.of(rows, classes), Shape.of(rows)),
                (b, x) -> List.of(b.softmaxCrossEntropy(x.get(0), x.get(1))), seed,
                options("loss", threads).withInput(1, labels(rows, classes, seed)).withGradients(0));
    }

    @Test
    void softmaxCrossEntropyRefusesLabelsThatAreNotClassIndices() {
        Graph g = KernelRuns.graph(DType.F32, List.of(Shape.of(2, 3), Shape.of(2)),
                (b, x) -> List.of(b.softmaxCrossEntropy(x.get(0), x.get(1))));
        for (double bad : new double[] {3, -1, 1.5, Double.NaN}) {
            Map<String, Tensor> feeds = KernelRuns.feeds(g, 1, Map.of("x1", Tensor.of(Shape.of(2), 0.0, bad)));
            var e = assertThrows(RuntimeException.class, () -> KernelRuns.program(g, KernelRuns.SPLIT, 1, feeds));
            assertTrue(e.getMessage().contains("label of row 1 is " + (float) bad + ", not a class index in [0, 3)"),
                    e.getMessage());
        }
    }

    /** Elementwise losses of two same-shaped inputs, with gradients of both. */
    @Property(tries = 60)
    void elementwiseLossesAndTheirGradients(@ForAll @IntRange(min = 0, max = 3) int which,
                                            @ForAll @IntRange(min = 1, max = 2) int threads, @ForAll long seed) {
        Shape s = shape(new Random(seed), 1, 4, 13);
        BiFunction<GraphBuilder, List<Value>, List<Value>> f = switch (which) {
            case 0 -> (b, x) -> List.of(b.bceWithLogits(x.get(0), x.get(1)));
            case 1 -> (b, x) -> List.of(b.mseLoss(x.get(0), x.get(1)));
            case 2 -> (b, x) -> List.of(b.l1Loss(x.get(0), x.get(1)));
            default -> (b, x) -> List.of(b.gaussianKl(x.get(0), x.get(1)));
        };
        var o = options("loss", threads).withGradients(0, 1);
        if (which == 0) o = o.withInput(1, uniform(s, seed, 0, 1));      // BCE targets are probabilities
        if (which == 3) o = o.withInput(1, uniform(s, seed, -3, 2));     // log-variances
        CrossBackend.check(List.of(s, s), f, seed, o);
    }

    @Test
    void lossesOverLongInputsUseSeveralPartials() {
        Shape s = Shape.of(3, 14011);                          // 3 partials of 16384 elements
        for (int which = 0; which < 4; which++) {
            int w = which;
            CrossBackend.check(List.of(s, s), (b, x) -> List.of(switch (w) {
                case 0 -> b.bceWithLogits(x.get(0), x.get(1));
                case 1 -> b.mseLoss(x.get(0), x.get(1));
                case 2 -> b.l1Loss(x.get(0), x.get(1));
                default -> b.gaussianKl(x.get(0), x.get(1));
            }), 5, options("loss", 2));
        }
        CrossBackend.check(List.of(Shape.of(900, 37), Shape.of(900)),
                (b, x) -> List.of(b.softmaxCrossEntropy(x.get(0), x.get(1))), 5,
                options("loss", 2).withInput(1, labels(900, 37, 5)));
    }

    // ------------------------------------------------------------------------------------------ random

    @Property(tries = 40)
    void randomOpsMatchTheReference(@ForAll @IntRange(min = 0, max = 2) int which,
                                    @ForAll @IntRange(min = 1, max = 2) int threads, @ForAll long seed) {
        Random r = new Random(seed);
        Shape s = shape(r, 1, 4, 13);
        double p = r.nextInt(4) == 0 ? 0 : r.nextDouble() * 0.9;
        switch (which) {
            case 0 -> CrossBackend.check(List.of(s), (b, x) -> b.applyAll("drop", new Dropout(p, seed), x.getFirst()),
                    seed, options("elementwise", threads).withGradients(0));
            case 1 -> CrossBackend.check(List.of(), (b, x) -> List.of(b.apply("noise", new GaussianNoise(s.dims(), seed))),
                    seed, options("elementwise", threads));
            default -> CrossBackend.check(List.of(s, s),
                    (b, x) -> b.applyAll("rep", new Reparameterize(seed), x.get(0), x.get(1)), seed,
                    options("elementwise", threads).withGradients(0, 1));
        }
    }

    @Test
    void randomStreamsAreTheReferencesBitForBit() {
        // Same seed, step and index give the same mask and noise on both backends: the float32 reference stores the
        // same roundings of the same double values (and dropout's y = x * mask is one float product). Sizes cover
        // vector bodies, tails and several blocks. Reparameterize's z is compared in the tolerance tests only: its
        // vector exp differs from Math.exp in the last bit.
        List<BiFunction<GraphBuilder, List<Value>, List<Value>>> graphs = List.of(
                (b, x) -> b.applyAll("drop", new Dropout(0.3, 11), x.get(0)),
                (b, x) -> List.of(b.apply("noise", new GaussianNoise(x.get(0).shape().dims(), 12))),
                (b, x) -> List.of(b.applyAll("rep", new Reparameterize(13), x.get(0), x.get(1)).get(1)));
        for (Shape s : List.of(Shape.of(1), Shape.of(7), Shape.of(3, 11), Shape.of(2, 3, 4101))) {
            for (var f : graphs) {
                Graph g = KernelRuns.graph(DType.F32, List.of(s, s), f);
                Map<String, Tensor> feeds = KernelRuns.feeds(g, 3, Map.of());
                KernelRuns.assertBitEqual(KernelRuns.session(g, "cpu", 1, feeds), KernelRuns.session(g, "reference", 1, feeds),
                        "random stream " + s);
            }
        }
    }

    @Test
    void dropoutKeepsAboutOneMinusPAndChangesWithTheStep() {
        GraphBuilder b = new GraphBuilder(DType.F32, true);
        b.output("mask", b.applyAll("drop", new Dropout(0.25, 99), b.input("x", 50000)).get(1));
        Plan plan = Compiler.compile(b.build(), new CpuBackend().target());
        try (Session s = Session.open(plan, "cpu", SessionOptions.defaults())) {
            Map<String, Tensor> in = Map.of("x", Tensor.zeros(DType.F32, Shape.of(50000)));
            float[] first = s.run(in).get("mask").toFloatArray(), second = s.run(in).get("mask").toFloatArray();
            int kept = 0;
            for (float m : first) {
                assertTrue(m == 0 || m == (float) (1 / 0.75), "mask value " + m);
                if (m != 0) kept++;
            }
            assertEquals(0.75, kept / 50000.0, 0.01);                       // 0.01 is ~5 standard deviations
            assertNotEquals(Arrays.toString(first), Arrays.toString(second), "a new step draws a new mask");
        }
    }

    // ------------------------------------------------------------------------------------------ optimizer ops

    /** One update op over random parameters and state (not just step 1 from zeros), lr and t fixed. */
    @Property(tries = 60)
    void optimizerUpdatesMatchTheReference(@ForAll @IntRange(min = 0, max = 5) int which,
                                           @ForAll @IntRange(min = 1, max = 2) int threads, @ForAll long seed) {
        Random r = new Random(seed);
        Shape s = shape(r, 1, 3, 13);
        double lr = 0.001 + r.nextDouble() * 0.2;
        var o = options("optimizer", threads);
        switch (which) {
            case 0, 1 -> {           // SGD, plain / Nesterov with weight decay: inputs p, v, g, lr
                SgdUpdate op = which == 0 ? new SgdUpdate(0.9, 0, false) : new SgdUpdate(0.8, 0.05, true);
                CrossBackend.check(List.of(s, s, s, Shape.SCALAR), (b, x) -> b.applyAll("sgd", op,
                        x.toArray(Value[]::new)), seed, o.withInput(3, scalar(lr)));
            }
            case 2, 3 -> {           // Adam / AdamW: inputs p, m, v >= 0, g, lr, t
                AdamUpdate op = new AdamUpdate(0.9, 0.999, which == 2 ? 1e-8 : 1e-3, which == 2 ? 0.01 : 0.1, which == 3);
                CrossBackend.check(List.of(s, s, s, s, Shape.SCALAR, Shape.SCALAR), (b, x) -> b.applyAll("adam", op,
                        x.toArray(Value[]::new)), seed, o.withInput(2, uniform(s, seed, 0, 0.5))
                        .withInput(4, scalar(lr)).withInput(5, scalar(1 + r.nextInt(20))));
            }
            default -> {             // RMSprop plain, or centered with momentum: p, sq >= 0, [buf], [avg], g, lr
                boolean full = which == 5;
                RmsPropUpdate op = full ? new RmsPropUpdate(0.9, 1e-3, 0.5, 0.05, true) : new RmsPropUpdate(0.99, 1e-8, 0, 0, false);
                List<Shape> shapes = new ArrayList<>(List.of(s, s));
                if (full) shapes.addAll(List.of(s, s));
                shapes.addAll(List.of(s, Shape.SCALAR));
                int k = shapes.size();
                var oo = o.withInput(1, uniform(s, seed, 0.5, 1)).withInput(k - 1, scalar(lr));
                if (full) oo = oo.withInput(3, uniform(s, seed + 1, -0.1, 0.1));   // keeps s - a^2 > 0
                CrossBackend.check(shapes, (b, x) -> b.applyAll("rms", op, x.toArray(Value[]::new)), seed, oo);
            }
        }
    }

    @Property(tries = 30)
    void globalNormScaleMatchesTheReference(@ForAll @IntRange(min = 1, max = 4) int count,
                                            @ForAll @IntRange(min = 1, max = 2) int threads, @ForAll long seed) {
        Random r = new Random(seed);
        List<Shape> shapes = new ArrayList<>();
        for (int i = 0; i < count; i++) shapes.add(shape(r, 0, 3, 15));
        double maxNorm = 0.5 + r.nextDouble() * 6;      // below and above the norms of these inputs
        CrossBackend.check(shapes, (b, x) -> List.of(b.apply("clip", new GlobalNormScale(maxNorm),
                x.toArray(Value[]::new))), seed, options("loss", threads));
    }

    // ------------------------------------------------------------------------------------------ training plans

    private static final Map<String, Shape> PARAMS = new LinkedHashMap<>();

    static {
        PARAMS.put("a", Shape.of(37));
        PARAMS.put("b", Shape.of(5, 11));
        PARAMS.put("c", Shape.of(3));
    }

    /** loss = sum_p sum(p * g_p): the gradient of p is the fed g_p, so the optimizer is all that differs. */
    private static Graph trainingGraph(DType dtype, TrainSpec spec) {
        GraphBuilder b = new GraphBuilder(dtype, true);
        Value loss = null;
        for (var e : PARAMS.entrySet()) {
            Value p = b.param(e.getKey(), e.getValue(), Init.zeros());
            Value g = b.input("g:" + e.getKey(), e.getValue());
            Value term = b.apply("sum", new SumTo(new int[0]), b.apply("mul", new Binary(Binary.Kind.MUL), p, g));
            loss = loss == null ? term : b.apply("add", new Binary(Binary.Kind.ADD), loss, term);
        }
        b.output("loss", loss);
        b.trainStep(loss, spec);
        return b.build();
    }

    static List<TrainSpec> specs() {
        List<TrainSpec> specs = new ArrayList<>();
        for (Optimizer o : List.of(new Optimizer.Sgd(0.9, 0, false), new Optimizer.Sgd(0.9, 0.01, true),
                new Optimizer.Sgd(0, 0.1, false), new Optimizer.Adam(), new Optimizer.Adam(0.8, 0.95, 1e-3, 0.1),
                new Optimizer.AdamW(), new Optimizer.RmsProp(), new Optimizer.RmsProp(0.9, 1e-4, 0.5, 0.05),
                new Optimizer.RmsProp(0.9, 1e-3, 0.3, 0.1, true)))
            specs.add(TrainSpec.of(o));
        specs.add(TrainSpec.of(new Optimizer.Adam()).withClipNorm(1.5));
        specs.add(TrainSpec.of(new Optimizer.Sgd(0.5, 0, false)).withClipNorm(100));
        return specs;
    }

    @Test
    void threeOptimizerStepsOfATrainingPlanMatchTheReference() {
        double[] lrs = {0.1, 0.05, 0.2};
        for (TrainSpec spec : specs()) {
            for (int threads = 1; threads <= 2; threads++) {
                Graph g32 = trainingGraph(DType.F32, spec), g64 = trainingGraph(DType.F64, spec);
                Plan cpuPlan = Compiler.compile(g32, new CpuBackend().target());
                try (Session cpu = Session.open(cpuPlan, "cpu", SessionOptions.defaults().withThreads(threads));
                     Session ref = Session.open(Compiler.compile(g64), "reference", SessionOptions.defaults())) {
                    for (Node n : cpuPlan.scheduledNodes())
                        if (Arrays.asList(MINE).contains(n.op().getClass()))
                            assertNotEquals(CpuAlgorithms.REFERENCE, cpu.algorithm(n.id()), n.name() + " fell back");
                    Random r = new Random(42);
                    for (String name : PARAMS.keySet()) {
                        Tensor p0 = uniform(PARAMS.get(name), r.nextLong(), -1, 1);
                        cpu.set(name, p0);
                        ref.set(name, p0);
                    }
                    for (int step = 0; step < 3; step++) {
                        Map<String, Tensor> feeds = new HashMap<>();
                        for (var e : PARAMS.entrySet())
                            feeds.put("g:" + e.getKey(), ElementwiseKernelsTest.values(e.getValue(), r.nextLong(), -2, 2, false));
                        feeds.put("lr", scalar((float) lrs[step]));
                        Map<String, Tensor> f32 = new HashMap<>();
                        feeds.forEach((k, v) -> f32.put(k, v.as(DType.F32)));
                        cpu.run(f32);
                        ref.run(feeds);
                        KernelRuns.assertClose(cpu.persistent(), ref.persistent(), "optimizer",
                                spec.optimizer() + " clip " + spec.clipNorm() + ", " + threads + " thread(s), step " + (step + 1));
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------ threads, scalar

    record Case(String name, String tolerance, List<Shape> shapes, BiFunction<GraphBuilder, List<Value>, List<Value>> f,
                Map<String, Tensor> fixed, int... grads) {}

    static List<Case> cases() {
        Shape big = Shape.of(3, 14011);            // 42033 elements: 11 blocks, 3 partials
        Map<String, Tensor> none = Map.of();
        Map<String, Tensor> adamIn = Map.of("x2", uniform(big, 1, 0, 0.5), "x4", scalar(0.01), "x5", scalar(7));
        Map<String, Tensor> rmsIn = Map.of("x1", uniform(big, 2, 0.5, 1), "x3", uniform(big, 3, -0.1, 0.1), "x5", scalar(0.01));
        return List.of(
                new Case("softmax cross-entropy", "loss", List.of(Shape.of(1300, 37), Shape.of(1300)),
                        (b, x) -> List.of(b.softmaxCrossEntropy(x.get(0), x.get(1))), Map.of("x1", labels(1300, 37, 4)), 0),
                new Case("bce", "loss", List.of(big, big), (b, x) -> List.of(b.bceWithLogits(x.get(0), x.get(1))),
                        Map.of("x1", uniform(big, 5, 0, 1)), 0, 1),
                new Case("mse", "loss", List.of(big, big), (b, x) -> List.of(b.mseLoss(x.get(0), x.get(1))), none, 0, 1),
                new Case("l1", "loss", List.of(big, big), (b, x) -> List.of(b.l1Loss(x.get(0), x.get(1))), none, 0, 1),
                new Case("kl", "loss", List.of(big, big), (b, x) -> List.of(b.gaussianKl(x.get(0), x.get(1))), none, 0, 1),
                new Case("dropout", "elementwise", List.of(big), (b, x) -> b.applyAll("d", new Dropout(0.4, 5), x.get(0)), none, 0),
                new Case("noise", "elementwise", List.of(), (b, x) -> List.of(b.apply("n", new GaussianNoise(big.dims(), 6))), none),
                new Case("reparameterize", "elementwise", List.of(big, big),
                        (b, x) -> b.applyAll("r", new Reparameterize(7), x.get(0), x.get(1)), none, 0, 1),
                new Case("sgd", "optimizer", List.of(big, big, big, Shape.SCALAR),
                        (b, x) -> b.applyAll("sgd", new SgdUpdate(0.9, 0.01, true), x.toArray(Value[]::new)),
                        Map.of("x3", scalar(0.05))),
                new Case("adam", "optimizer", List.of(big, big, big, big, Shape.SCALAR, Shape.SCALAR),
                        (b, x) -> b.applyAll("adam", new AdamUpdate(0.9, 0.999, 1e-8, 0.01, true), x.toArray(Value[]::new)), adamIn),
                new Case("rmsprop", "optimizer", List.of(big, big, big, big, big, Shape.SCALAR),
                        (b, x) -> b.applyAll("rms", new RmsPropUpdate(0.9, 1e-3, 0.5, 0.05, true), x.toArray(Value[]::new)), rmsIn),
                new Case("clip", "loss", List.of(big, Shape.of(5000), Shape.of(37)),
                        (b, x) -> List.of(b.apply("clip", new GlobalNormScale(50), x.toArray(Value[]::new))), none));
    }

    @Test
    void splitLoopsGiveTheSameBitsOnOneTwoAndThreeThreads() {
        for (Case c : cases()) {
            Graph g = KernelRuns.graph(DType.F32, c.shapes(), c.f(), c.grads());
            Map<String, Tensor> feeds = KernelRuns.feeds(g, 9, c.fixed());
            Map<String, Tensor> one = KernelRuns.program(g, KernelRuns.SPLIT, 1, feeds);
            KernelRuns.assertBitEqual(KernelRuns.program(g, KernelRuns.SPLIT, 2, feeds), one, c.name() + ", 2 threads");
            KernelRuns.assertBitEqual(KernelRuns.program(g, KernelRuns.SPLIT, 3, feeds), one, c.name() + ", 3 threads");
            Graph ref = KernelRuns.graph(DType.F64, c.shapes(), c.f(), c.grads());
            KernelRuns.assertClose(one, KernelRuns.session(ref, "reference", 1, feeds), c.tolerance(), c.name());
        }
    }

    @Test
    void theScalarPathIsTheReferenceFormula() {
        for (Case c : cases()) {
            Graph g = KernelRuns.graph(DType.F32, c.shapes(), c.f(), c.grads());
            Map<String, Tensor> feeds = KernelRuns.feeds(g, 10, c.fixed());
            Map<String, Tensor> scalar = KernelRuns.program(g, KernelRuns.SCALAR, 2, feeds);
            Graph ref = KernelRuns.graph(DType.F64, c.shapes(), c.f(), c.grads());
            KernelRuns.assertClose(scalar, KernelRuns.session(ref, "reference", 1, feeds), c.tolerance(), c.name());
            // Elementwise outputs (not the sums, which add in another order) are the float reference's bits.
            Map<String, Tensor> ref32 = KernelRuns.session(g, "reference", 1, feeds);
            Map<String, Tensor> got = new LinkedHashMap<>(), want = new LinkedHashMap<>();
            for (String k : ref32.keySet()) {
                if (ref32.get(k).shape().rank() == 0) continue;
                got.put(k, scalar.get(k));
                want.put(k, ref32.get(k));
            }
            if (!want.isEmpty()) KernelRuns.assertBitEqual(got, want, c.name() + ", scalar path");
            else if (!c.name().equals("clip")) fail("no elementwise output in " + c.name());
        }
    }
}
