package dev.stride.engine.reference;

import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Init;
import dev.stride.graph.Optimizer;
import dev.stride.graph.Plan;
import dev.stride.graph.PlanFile;
import dev.stride.graph.Shape;
import dev.stride.graph.TrainSpec;
import dev.stride.graph.Value;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.GlobalNormScale;
import dev.stride.graph.op.SumTo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The optimizers {@link dev.stride.graph.TrainDsl#trainStep} compiles, against torch.optim's documented algorithms
 * written out independently below in plain double, over three steps with a changing learning rate.
 */
class OptimizerTest {
    private static final double TOL = 1e-12;
    private static final double[] LRS = {0.1, 0.05, 0.2};
    /** The parameters of the test model and their shapes; "frozen/c" is frozen where a test says so. */
    private static final Map<String, Shape> PARAMS = new LinkedHashMap<>();

    static {
        PARAMS.put("a", Shape.of(3));
        PARAMS.put("b", Shape.of(2, 2));
        PARAMS.put("frozen/c", Shape.of(2));
    }

    // ---------------------------------------------------------------- the reference: torch.optim's algorithms

    /** One parameter under torch.optim's pseudo-code (docs of SGD, Adam, AdamW, RMSprop), state zero or absent. */
    private static final class Reference {
        final Optimizer opt;
        final double[] p;
        final Map<String, double[]> state = new HashMap<>();
        int t;

        Reference(Optimizer opt, double[] p0) {
            this.opt = opt;
            this.p = p0.clone();
        }

        private double[] zeros(String name) { return state.computeIfAbsent(name, k -> new double[p.length]); }

        void step(double[] grad, double lr) {
            t++;
            int n = p.length;
            double[] g = grad.clone();
            switch (opt) {
                case Optimizer.Sgd s -> {
                    for (int i = 0; i < n; i++) g[i] += s.weightDecay() * p[i];
                    if (s.momentum() != 0) {
                        // b_1 = g_1, then b_t = mu*b_{t-1} + g_t (dampening 0)
                        double[] b = state.get("momentum");
                        if (b == null) state.put("momentum", b = g.clone());
                        else for (int i = 0; i < n; i++) b[i] = s.momentum() * b[i] + g[i];
                        for (int i = 0; i < n; i++) g[i] = s.nesterov() ? g[i] + s.momentum() * b[i] : b[i];
                    }
                    for (int i = 0; i < n; i++) p[i] -= lr * g[i];
                }
                case Optimizer.Adam a -> adam(g, lr, a.beta1(), a.beta2(), a.eps(), a.weightDecay(), false);
                case Optimizer.AdamW a -> adam(g, lr, a.beta1(), a.beta2(), a.eps(), a.weightDecay(), true);
                case Optimizer.RmsProp r -> {
                    for (int i = 0; i < n; i++) g[i] += r.weightDecay() * p[i];
                    double[] v = zeros("square_avg");
                    double[] vt = new double[n];
                    for (int i = 0; i < n; i++) vt[i] = v[i] = r.alpha() * v[i] + (1 - r.alpha()) * g[i] * g[i];
                    if (r.centered()) {
                        double[] ga = zeros("grad_avg");
                        for (int i = 0; i < n; i++) {
                            ga[i] = r.alpha() * ga[i] + (1 - r.alpha()) * g[i];
                            vt[i] -= ga[i] * ga[i];
                        }
                    }
                    if (r.momentum() > 0) {
                        double[] b = zeros("momentum_buffer");
                        for (int i = 0; i < n; i++) {
                            b[i] = r.momentum() * b[i] + g[i] / (Math.sqrt(vt[i]) + r.eps());
                            p[i] -= lr * b[i];
                        }
                    } else {
                        for (int i = 0; i < n; i++) p[i] -= lr * g[i] / (Math.sqrt(vt[i]) + r.eps());
                    }
                }
            }
        }

        private void adam(double[] g, double lr, double b1, double b2, double eps, double wd, boolean decoupled) {
            double[] m = zeros("exp_avg"), v = zeros("exp_avg_sq");
            for (int i = 0; i < p.length; i++) {
                if (decoupled) p[i] -= lr * wd * p[i];
                else g[i] += wd * p[i];
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                double mHat = m[i] / (1 - Math.pow(b1, t)), vHat = v[i] / (1 - Math.pow(b2, t));
                p[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
            }
        }
    }

    // ---------------------------------------------------------------- the model: loss = sum_p sum(p * g_p)

    /** A plan whose loss is linear in every parameter, so the gradient of p is exactly the fed input "g:p". */
    private static final class Rig implements AutoCloseable {
        final Session session;
        final Map<String, double[]> initial = new LinkedHashMap<>();
        final Random random = new Random(1234);

        Rig(DType dtype, TrainSpec spec) {
            var b = new GraphBuilder(dtype, true);
            Value loss = null;
            for (var e : PARAMS.entrySet()) {
                Value p = b.param(e.getKey(), e.getValue(), Init.zeros());
                Value g = b.input("g:" + e.getKey(), e.getValue());
                Value term = b.apply("sum", new SumTo(new int[0]), b.apply("mul", new Binary(Binary.Kind.MUL), p, g));
                loss = loss == null ? term : b.apply("add", new Binary(Binary.Kind.ADD), loss, term);
            }
            b.output("loss", loss);
            assertEquals("lr", b.trainStep(loss, spec).name());
            session = open(Compiler.compile(b.build()));
            for (var e : PARAMS.entrySet()) {
                double[] p0 = uniform(e.getValue().size(), -1, 1);
                initial.put(e.getKey(), p0);
                session.set(e.getKey(), Tensor.of(e.getValue(), p0));
            }
        }

        static Session open(Plan plan) { return Session.open(plan, "reference", SessionOptions.defaults().withThreads(1)); }

        double[] uniform(long n, double lo, double hi) {
            double[] x = new double[(int) n];
            for (int i = 0; i < n; i++) x[i] = lo + (hi - lo) * random.nextDouble();
            return x;
        }

        /** Fresh random gradients (scaled per parameter) for one step. */
        Map<String, double[]> gradients(Map<String, Double> scale) {
            Map<String, double[]> g = new LinkedHashMap<>();
            for (var e : PARAMS.entrySet()) {
                double s = scale.getOrDefault(e.getKey(), 1.0);
                g.put(e.getKey(), uniform(e.getValue().size(), -s, s));
            }
            return g;
        }

        /** Runs one training step of {@code s} with these gradients. */
        static void run(Session s, Map<String, double[]> grads, double lr) {
            Map<String, Tensor> feeds = new HashMap<>();
            grads.forEach((name, g) -> feeds.put("g:" + name, Tensor.of(PARAMS.get(name), g)));
            feeds.put("lr", Tensor.scalar(DType.F64, lr));
            s.run(feeds);
        }

        double[] get(String name) { return session.get(name).toDoubleArray(); }

        @Override public void close() { session.close(); }
    }

    static List<Optimizer> optimizers() {
        return List.of(
                new Optimizer.Sgd(0.9, 0, false), new Optimizer.Sgd(0.9, 0.01, true), new Optimizer.Sgd(0, 0.1, false),
                new Optimizer.Sgd(0.5, 0.05, false),
                new Optimizer.Adam(), new Optimizer.Adam(0.8, 0.95, 1e-3, 0.1),
                new Optimizer.AdamW(), new Optimizer.AdamW(0.85, 0.9, 1e-6, 0.3),
                new Optimizer.RmsProp(), new Optimizer.RmsProp(0.9, 1e-4, 0.5, 0.05),
                new Optimizer.RmsProp(0.9, 1e-3, 0.3, 0.1, true), new Optimizer.RmsProp(0.95, 1e-3, 0, 0, true));
    }

    /** Runs three steps on {@code rig} and on references, comparing parameters and optimizer state after each. */
    private static Map<String, Reference> threeSteps(Rig rig, Optimizer opt, Map<String, Double> lrMultiplier, double tol) {
        Map<String, Reference> ref = new LinkedHashMap<>();
        rig.initial.forEach((name, p0) -> ref.put(name, new Reference(opt, p0)));
        for (int step = 0; step < 3; step++) {
            var grads = rig.gradients(Map.of());
            Rig.run(rig.session, grads, LRS[step]);
            for (var e : ref.entrySet()) {
                String name = e.getKey();
                Reference r = e.getValue();
                r.step(grads.get(name), LRS[step] * lrMultiplier.getOrDefault(name, 1.0));
                assertArrayEquals(r.p, rig.get(name), tol, opt + " " + name + " step " + step);
                for (var s : r.state.entrySet())
                    assertArrayEquals(s.getValue(), rig.get(name + "/" + s.getKey()), tol, opt + " " + name + "/" + s.getKey());
            }
            if (opt.countsSteps()) assertEquals(step + 1, rig.session.get(opt.name() + "/t").item(), opt.name() + "/t");
        }
        return ref;
    }

    // ---------------------------------------------------------------- tests

    @ParameterizedTest
    @MethodSource("optimizers")
    void updatesMatchTorchOptimOverThreeSteps(Optimizer opt) {
        try (Rig rig = new Rig(DType.F64, TrainSpec.of(opt))) {
            var ref = threeSteps(rig, opt, Map.of(), TOL);
            // Every state the optimizer keeps was compared (SGD without momentum keeps an unused velocity).
            if (!(opt instanceof Optimizer.Sgd s && s.momentum() == 0))
                assertEquals(opt.stateNames().size(), ref.get("a").state.size(), opt.toString());
        }
    }

    @Test
    void float32GraphsFollowTheSameAlgorithm() {
        Optimizer opt = new Optimizer.AdamW(0.9, 0.99, 1e-8, 0.1);
        try (Rig rig = new Rig(DType.F32, TrainSpec.of(opt))) {
            for (var e : rig.initial.entrySet()) e.setValue(rig.get(e.getKey()));     // the stored, rounded values
            threeSteps(rig, opt, Map.of(), 1e-5);
        }
    }

    @Test
    void aResumedPlanContinuesTheBiasCorrection() throws Exception {
        Optimizer opt = new Optimizer.Adam(0.9, 0.999, 1e-8, 0.01);
        try (Rig rig = new Rig(DType.F64, TrainSpec.of(opt))) {
            Map<String, Reference> ref = new LinkedHashMap<>();
            rig.initial.forEach((name, p0) -> ref.put(name, new Reference(opt, p0)));
            for (int step = 0; step < 2; step++) {
                var grads = rig.gradients(Map.of());
                Rig.run(rig.session, grads, LRS[step]);
                for (var e : ref.entrySet()) e.getValue().step(grads.get(e.getKey()), LRS[step]);
            }
            Plan saved = PlanFile.fromBytes(PlanFile.toBytes(rig.session.snapshot()));
            var grads = rig.gradients(Map.of());
            try (Session resumed = Rig.open(saved); Session restarted = Rig.open(saved)) {
                assertEquals(2, resumed.get("adam/t").item());
                Rig.run(resumed, grads, LRS[2]);
                // Control: the same state with the count reset to 0 takes a different step (bias corrections of t=1).
                restarted.set("adam/t", Tensor.scalar(DType.F64, 0));
                Rig.run(restarted, grads, LRS[2]);
                for (var e : ref.entrySet()) {
                    e.getValue().step(grads.get(e.getKey()), LRS[2]);
                    assertArrayEquals(e.getValue().p, resumed.get(e.getKey()).toDoubleArray(), TOL, e.getKey());
                    double diff = 0;
                    double[] wrong = restarted.get(e.getKey()).toDoubleArray();
                    for (int i = 0; i < wrong.length; i++) diff = Math.max(diff, Math.abs(wrong[i] - e.getValue().p[i]));
                    assertTrue(diff > 1e-4, "restarting the count should change " + e.getKey() + ", max diff " + diff);
                }
                assertEquals(3, resumed.get("adam/t").item());
            }
        }
    }

    @Test
    void frozenParametersStayPutAndGetNoState() {
        for (Optimizer opt : List.of(new Optimizer.Adam(0.9, 0.999, 1e-8, 0.1), new Optimizer.Sgd(0.9, 0.1, false),
                new Optimizer.RmsProp(0.9, 1e-8, 0.5, 0.1, true))) {
            try (Rig rig = new Rig(DType.F64, TrainSpec.of(opt).withFrozen(n -> n.startsWith("frozen/")))) {
                // Weight decay would move a trained parameter even without gradient: frozen means untouched.
                Map<String, Reference> ref = new LinkedHashMap<>();
                for (String p : List.of("a", "b")) ref.put(p, new Reference(opt, rig.initial.get(p)));
                for (int step = 0; step < 3; step++) {
                    var grads = rig.gradients(Map.of());
                    Rig.run(rig.session, grads, LRS[step]);
                    for (var e : ref.entrySet()) {
                        e.getValue().step(grads.get(e.getKey()), LRS[step]);
                        assertArrayEquals(e.getValue().p, rig.get(e.getKey()), TOL);
                    }
                    assertArrayEquals(rig.initial.get("frozen/c"), rig.get("frozen/c"), 0);
                }
                var persistent = rig.session.persistent().keySet();
                assertTrue(persistent.stream().noneMatch(n -> n.startsWith("frozen/c/")), persistent.toString());
                assertTrue(persistent.containsAll(opt.stateNames().stream().map(s -> "a/" + s).toList()), persistent.toString());
            }
        }
    }

    @Test
    void groupMultipliersScaleTheLearningRateFirstMatchFirst() {
        for (Optimizer opt : List.of(new Optimizer.AdamW(0.9, 0.999, 1e-8, 0.2), new Optimizer.Sgd(0.9, 0.01, true))) {
            var spec = TrainSpec.of(opt).withGroup(n -> n.equals("b"), 0.5).withGroup(n -> true, 3)
                    .withGroup(n -> n.equals("a"), 100);                         // shadowed by the group before it
            try (Rig rig = new Rig(DType.F64, spec)) {
                threeSteps(rig, opt, Map.of("a", 3.0, "b", 0.5, "frozen/c", 3.0), TOL);
            }
        }
        // A multiplier of 0 leaves the parameter where it was.
        try (Rig rig = new Rig(DType.F64, TrainSpec.of(new Optimizer.Sgd()).withGroup(n -> n.equals("b"), 0))) {
            Rig.run(rig.session, rig.gradients(Map.of()), 0.1);
            assertArrayEquals(rig.initial.get("b"), rig.get("b"), 0);
            assertFalse(java.util.Arrays.equals(rig.initial.get("a"), rig.get("a")));
        }
    }

    /** p - p' per parameter after one step of plain SGD with lr = 1: the gradient the optimizer applied. */
    private static Map<String, double[]> applied(Rig rig, Map<String, double[]> grads, List<String> params) {
        Map<String, double[]> before = new HashMap<>();
        for (String p : params) before.put(p, rig.get(p));
        Rig.run(rig.session, grads, 1);
        Map<String, double[]> d = new LinkedHashMap<>();
        for (String p : params) {
            double[] b = before.get(p), a = rig.get(p);
            for (int i = 0; i < b.length; i++) b[i] -= a[i];
            d.put(p, b);
        }
        return d;
    }

    private static double norm(Map<String, double[]> xs, List<String> params) {
        double sq = 0;
        for (String p : params) for (double x : xs.get(p)) sq += x * x;
        return Math.sqrt(sq);
    }

    @Test
    void clippingByGlobalNorm() {
        List<String> trained = List.of("a", "b");
        var spec = TrainSpec.of(new Optimizer.Sgd()).withFrozen(n -> n.startsWith("frozen/"));
        // The frozen parameter's large gradient must not count toward the norm.
        Map<String, Double> scale = Map.of("frozen/c", 100.0);
        try (Rig rig = new Rig(DType.F64, spec.withClipNorm(1e6))) {
            var grads = rig.gradients(scale);
            var d = applied(rig, grads, trained);
            for (String p : trained) assertArrayEquals(grads.get(p), d.get(p), TOL, "a large maxNorm changes nothing");
        }
        try (Rig rig = new Rig(DType.F64, spec.withClipNorm(0.1))) {
            for (int step = 0; step < 3; step++) {
                var grads = rig.gradients(scale);
                double gNorm = norm(grads, trained);
                assertTrue(gNorm > 0.5, "the test needs gradients well above maxNorm: " + gNorm);
                var d = applied(rig, grads, trained);
                assertEquals(0.1, norm(d, trained), 1e-6);
                double factor = 0.1 / (gNorm + 1e-6);              // clip_grad_norm_'s clip_coef
                for (String p : trained) {
                    double[] expect = grads.get(p).clone();
                    for (int i = 0; i < expect.length; i++) expect[i] *= factor;
                    assertArrayEquals(expect, d.get(p), TOL, p);
                }
            }
        }
        // Weight decay joins after clipping, as when clip_grad_norm_ runs before optimizer.step().
        try (Rig rig = new Rig(DType.F64, spec.withOptimizer(new Optimizer.Sgd(0, 0.5, false)).withClipNorm(0.1))) {
            var grads = rig.gradients(scale);
            double factor = 0.1 / (norm(grads, trained) + 1e-6);
            var d = applied(rig, grads, trained);
            for (String p : trained) {
                double[] expect = new double[grads.get(p).length];
                for (int i = 0; i < expect.length; i++) expect[i] = factor * grads.get(p)[i] + 0.5 * rig.initial.get(p)[i];
                assertArrayEquals(expect, d.get(p), TOL, p);
            }
        }
    }

    @Test
    void globalNormScaleKernel() {
        var b = new GraphBuilder(DType.F64, false);
        Value x = b.input("x", 2, 3), y = b.input("y", 4);
        b.output("small", b.apply("s", new GlobalNormScale(0.5), x, y));
        b.output("large", b.apply("l", new GlobalNormScale(100), x, y));
        double[] xv = {1, -2, 0.5, 3, 0, -1}, yv = {2, 2, -0.5, 1};
        double norm = Math.sqrt(1 + 4 + 0.25 + 9 + 0 + 1 + 4 + 4 + 0.25 + 1);   // sqrt(24.5)
        try (Session s = Rig.open(Compiler.compile(b.build()))) {
            var out = s.run(Map.of("x", Tensor.of(Shape.of(2, 3), xv), "y", Tensor.of(Shape.of(4), yv)));
            assertEquals(0.5 / (norm + 1e-6), out.get("small").item(), TOL);
            assertEquals(1, out.get("large").item(), 0);
            var zero = s.run(Map.of("x", Tensor.zeros(DType.F64, Shape.of(2, 3)), "y", Tensor.zeros(DType.F64, Shape.of(4))));
            assertEquals(1, zero.get("small").item(), 0);      // all-zero gradients: the 1e-6 keeps it finite
        }
    }
}
