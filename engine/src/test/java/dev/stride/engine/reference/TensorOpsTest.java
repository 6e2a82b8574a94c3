package dev.stride.engine.reference;

import dev.stride.engine.GradCheck;
import dev.stride.engine.Session;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.Unary;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiFunction;
import java.util.function.IntFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Forward values of the tensor op family against computations written out here with java.lang.Math, and
 * finite-difference checks of every differentiable input's gradient.
 */
class TensorOpsTest {
    // ---- helpers ----

    /** Runs {@code f} on inputs x0, x1, ... in {@code dtype} and returns its single output. */
    private static Tensor forward(DType dtype, Map<String, Tensor> inputs, BiFunction<GraphBuilder, List<Value>, Value> f) {
        var b = new GraphBuilder(dtype, false);
        List<Value> xs = new ArrayList<>();
        for (var e : inputs.entrySet()) xs.add(b.input(e.getKey(), e.getValue().shape()));
        b.output("y", f.apply(b, xs));
        try (Session s = Session.open(Compiler.compile(b.build()))) {
            return s.run(inputs).get("y");
        }
    }

    private static Tensor forward(Map<String, Tensor> inputs, BiFunction<GraphBuilder, List<Value>, Value> f) {
        return forward(DType.F64, inputs, f);
    }

    private static Map<String, Tensor> inputs(long seed, Shape... shapes) { return GradCheck.randomInputs(List.of(shapes), seed); }

    /** Moves every element at least {@code gap} away from 0, keeping its sign: finite differences then never cross a kink. */
    private static void awayFromZero(Tensor t, double gap) {
        for (long i = 0; i < t.size(); i++) {
            double v = t.get(i);
            t.set(i, (v < 0 ? -1 : 1) * (gap + Math.abs(v)));
        }
    }

    private static void assertClose(double[] expected, Tensor actual, double tol) {
        assertEquals(expected.length, actual.size(), "element count");
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual.get(i);
            assertEquals(e, a, tol * Math.max(1, Math.abs(e)), "element " + i + " of " + actual.shape());
        }
    }

    @Provide
    Arbitrary<List<Integer>> dims() { return Arbitraries.integers().between(1, 4).list().ofMinSize(1).ofMaxSize(4); }

    private static Shape shape(List<Integer> dims) { return Shape.of(dims.stream().mapToInt(Integer::intValue).toArray()); }

    /** The row-major coordinates of flat index {@code i}. */
    private static int[] coords(long i, Shape s) {
        int[] c = new int[s.rank()];
        for (int d = s.rank() - 1; d >= 0; d--) {
            c[d] = (int) (i % s.dim(d));
            i /= s.dim(d);
        }
        return c;
    }

    private static long flat(int[] c, Shape s) {
        long i = 0;
        for (int d = 0; d < s.rank(); d++) i = i * s.dim(d) + c[d];
        return i;
    }

    // ---- unary ----

    /** f(x) from the textbook definitions, not the kernel's stable rewrites. */
    private static double expectedUnary(Unary.Fn fn, double a, double c, double x) {
        return switch (fn) {
            case RELU -> x > 0 ? x : 0;
            case LEAKY_RELU -> x > 0 ? x : a * x;
            case ELU -> x > 0 ? x : a * (Math.exp(x) - 1);
            case SIGMOID -> 1 / (1 + Math.exp(-x));
            case TANH -> Math.sinh(x) / Math.cosh(x);
            case SOFTPLUS -> Math.log(1 + Math.exp(x));
            case EXP -> Math.pow(Math.E, x);
            case LOG -> Math.log(x);
            case SQRT -> Math.pow(x, 0.5);
            case SQUARE -> Math.pow(x, 2);
            case ABS -> x < 0 ? -x : x;
            case NEG -> 0 - x;
            case SIGN -> x > 0 ? 1 : x < 0 ? -1 : 0;
            case SELU -> x > 0 ? c * x : c * (a * Math.exp(x) - a);
            case HARD_SIGMOID -> a * x + c <= 0 ? 0 : a * x + c >= 1 ? 1 : a * x + c;
            case HARD_SWISH -> x <= -3 ? 0 : x >= 3 ? x : x * (x + 3) / 6;
        };
    }

    /** The second parameter: SELU's gamma, HARD_SIGMOID's offset. */
    private static double unaryBeta(double alpha) { return 0.3 + alpha / 4; }

    private static Value applyUnary(GraphBuilder b, Unary.Fn fn, double alpha, Value x) {
        return switch (fn) {
            case RELU -> b.relu(x);
            case LEAKY_RELU -> b.leakyRelu(x, alpha);
            case ELU -> b.elu(x, alpha);
            case SIGMOID -> b.sigmoid(x);
            case TANH -> b.tanh(x);
            case SOFTPLUS -> b.softplus(x);
            case EXP -> b.exp(x);
            case LOG -> b.log(x);
            case SQRT -> b.sqrt(x);
            case SQUARE -> b.square(x);
            case ABS -> b.abs(x);
            case NEG -> b.neg(x);
            case SIGN -> b.sign(x);
            case SELU -> b.selu(x, alpha, unaryBeta(alpha));
            case HARD_SIGMOID -> b.hardSigmoid(x, alpha, unaryBeta(alpha));
            case HARD_SWISH -> b.hardSwish(x);
        };
    }

    /** Inputs in the function's domain, away from the kinks of the piecewise ones. */
    private static void prepareUnaryInput(Unary.Fn fn, double alpha, Tensor x, double spread) {
        for (long i = 0; i < x.size(); i++) x.set(i, x.get(i) * spread);
        switch (fn) {
            case LOG, SQRT -> { for (long i = 0; i < x.size(); i++) x.set(i, 0.2 + Math.abs(x.get(i))); }
            case RELU, LEAKY_RELU, ELU, ABS, SIGN, SELU -> awayFromZero(x, 0.1);
            case HARD_SIGMOID -> awayFrom(x, -unaryBeta(alpha) / alpha, (1 - unaryBeta(alpha)) / alpha);
            case HARD_SWISH -> awayFrom(x, -3, 3);
            default -> { }
        }
    }

    /** Moves elements within 0.05 of a kink 0.1 to its right. */
    private static void awayFrom(Tensor t, double... kinks) {
        for (long i = 0; i < t.size(); i++)
            for (double k : kinks) if (Math.abs(t.get(i) - k) < 0.05) t.set(i, k + 0.1);
    }

    // Every function in every try: an enum drawn at random can miss one for a whole run.

    @Property(tries = 20)
    void unaryForwardMatchesMath(@ForAll("dims") List<Integer> dims, @ForAll long seed) {
        double alpha = 0.01 + Math.floorMod(seed, 100) / 50.0;
        for (Unary.Fn fn : Unary.Fn.values()) {
            var in = inputs(seed, shape(dims));
            prepareUnaryInput(fn, alpha, in.get("x0"), 4);
            Tensor y = forward(in, (b, xs) -> applyUnary(b, fn, alpha, xs.getFirst()));
            double[] x = in.get("x0").toDoubleArray(), expected = new double[x.length];
            for (int i = 0; i < x.length; i++) expected[i] = expectedUnary(fn, alpha, unaryBeta(alpha), x[i]);
            assertEquals(shape(dims), y.shape());
            assertClose(expected, y, 1e-12);
        }
    }

    @Property(tries = 12)
    void unaryGradientsMatchFiniteDifferences(@ForAll("dims") List<Integer> dims, @ForAll long seed) {
        double alpha = 0.05 + Math.floorMod(seed, 100) / 50.0;
        Shape s = shape(dims);
        for (Unary.Fn fn : Unary.Fn.values()) {
            var in = inputs(seed, s);
            prepareUnaryInput(fn, alpha, in.get("x0"), 3);
            GradCheck.check(List.of(s), in, (b, xs) -> List.of(applyUnary(b, fn, alpha, xs.getFirst())), seed, 1e-6, 1e-6, 40);
        }
    }

    /** Relative comparison that also holds for tiny values, where an absolute tolerance would say nothing. */
    private static void assertRel(double expected, double actual, double rel) {
        assertEquals(expected, actual, rel * Math.abs(expected), "expected " + expected + ", got " + actual);
    }

    @Test
    void stableFormsDoNotOverflow() {
        Map<String, Tensor> in = Map.of("x0", Tensor.of(Shape.of(4), -1000.0, -40.0, 40.0, 1000.0));
        double[] sig = forward(in, (b, xs) -> b.sigmoid(xs.getFirst())).toDoubleArray();
        double[] expSig = {0, 1 / (1 + Math.exp(40)), 1 / (1 + Math.exp(-40)), 1};
        for (int i = 0; i < 4; i++) assertRel(expSig[i], sig[i], 1e-14);
        // log(1 + e^x) = e^x (1 - e^x / 2 + ...) for x << 0, and x + log(1 + e^-x) for x >> 0.
        double[] sp = forward(in, (b, xs) -> b.softplus(xs.getFirst())).toDoubleArray();
        double[] expSp = {0, Math.exp(-40), 40, 1000};
        for (int i = 0; i < 4; i++) assertRel(expSp[i], sp[i], 1e-14);
        assertEquals(-1.5, forward(in, (b, xs) -> b.elu(xs.getFirst(), 1.5)).get(0), 0);
        double[] sm = forward(in, (b, xs) -> b.softmax(xs.getFirst(), 0)).toDoubleArray();
        assertArrayEquals(new double[] {0, 0, 0, 1}, sm, 0);   // e^-960 underflows to 0; no inf/inf = NaN
        double[] lsm = forward(in, (b, xs) -> b.logSoftmax(xs.getFirst(), -1)).toDoubleArray();
        assertArrayEquals(new double[] {-2000, -1040, -960, 0}, lsm, 1e-9);   // no log(0) = -inf either
    }

    @Test
    void arithmeticHelpersMatchMath() {
        var in = inputs(5, Shape.of(2, 3), Shape.of(3));
        double[] a = in.get("x0").toDoubleArray(), c = in.get("x1").toDoubleArray();
        IntFunction<double[]> expect = kind -> {   // c broadcasts along the rows of a
            double[] e = new double[6];
            for (int i = 0; i < 6; i++) {
                double p = a[i], q = c[i % 3];
                e[i] = switch (kind) {
                    case 0 -> p + q; case 1 -> p - q; case 2 -> p * q; case 3 -> p / q; case 4 -> 2.5 * p;
                    case 5 -> -3 * p + 0.5; case 6 -> Math.exp(q * Math.log(Math.abs(p))); case 7 -> p > q ? p : q;
                    default -> p < q ? p : q;
                };
            }
            return e;
        };
        assertClose(expect.apply(0), forward(in, (b, xs) -> b.add(xs.get(0), xs.get(1))), 1e-15);
        assertClose(expect.apply(1), forward(in, (b, xs) -> b.sub(xs.get(0), xs.get(1))), 1e-15);
        assertClose(expect.apply(2), forward(in, (b, xs) -> b.mul(xs.get(0), xs.get(1))), 1e-15);
        assertClose(expect.apply(3), forward(in, (b, xs) -> b.div(xs.get(0), xs.get(1))), 1e-15);
        assertClose(expect.apply(4), forward(in, (b, xs) -> b.scale(xs.get(0), 2.5)), 1e-15);
        assertClose(expect.apply(5), forward(in, (b, xs) -> b.affine(xs.get(0), -3, 0.5)), 1e-15);
        assertClose(expect.apply(7), forward(in, (b, xs) -> b.max(xs.get(0), xs.get(1))), 0);
        assertClose(expect.apply(8), forward(in, (b, xs) -> b.min(xs.get(0), xs.get(1))), 0);
        for (long i = 0; i < 6; i++) in.get("x0").set(i, Math.abs(a[(int) i]));   // pow of a positive base
        assertClose(expect.apply(6), forward(in, (b, xs) -> b.pow(xs.get(0), xs.get(1))), 1e-13);
    }

    // ---- PReLU ----

    @Property(tries = 25)
    void preluMatchesMathAndGradients(@ForAll @IntRange(min = 1, max = 3) int n, @ForAll @IntRange(min = 1, max = 4) int c,
                                      @ForAll @IntRange(min = 0, max = 2) int spatialRank, @ForAll boolean perChannel,
                                      @ForAll long seed) {
        int[] xd = java.util.Arrays.copyOf(new int[] {n, c, 3, 2}, 2 + spatialRank);   // [N, C], [N, C, 3], [N, C, 3, 2]
        Shape xs = Shape.of(xd), ss = Shape.of(perChannel ? c : 1);
        var in = inputs(seed, xs, ss);
        awayFromZero(in.get("x0"), 0.1);
        Tensor y = forward(in, (b, v) -> b.prelu(v.get(0), v.get(1)));
        long inner = xs.size() / ((long) n * c);
        double[] x = in.get("x0").toDoubleArray(), slope = in.get("x1").toDoubleArray(), expected = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double s = perChannel ? slope[(int) (i / inner % c)] : slope[0];
            expected[i] = x[i] > 0 ? x[i] : s * x[i];
        }
        assertClose(expected, y, 1e-15);
        GradCheck.check(List.of(xs, ss), in, (b, v) -> List.of(b.prelu(v.get(0), v.get(1))), seed, 1e-6, 1e-6, 40);
    }

    // ---- softmax ----

    @Property(tries = 40)
    void softmaxMatchesMath(@ForAll("dims") List<Integer> dims, @ForAll @IntRange(min = -4, max = 3) int axisPick,
                            @ForAll boolean log, @ForAll long seed) {
        Shape s = shape(dims);
        int axis = Math.floorMod(axisPick, s.rank()) - (axisPick < 0 ? s.rank() : 0);   // in [-rank, rank)
        int a = axis < 0 ? axis + s.rank() : axis;
        var in = inputs(seed, s);
        Tensor x = in.get("x0");
        Tensor y = forward(in, (b, v) -> log ? b.logSoftmax(v.getFirst(), axis) : b.softmax(v.getFirst(), axis));
        double[] expected = new double[(int) s.size()];
        for (int i = 0; i < expected.length; i++) {
            int[] c = coords(i, s);
            double sum = 0;
            for (int k = 0; k < s.dim(a); k++) {
                c[a] = k;
                sum += Math.exp(x.get(flat(c, s)));
            }
            expected[i] = log ? x.get(i) - Math.log(sum) : Math.exp(x.get(i)) / sum;
        }
        assertClose(expected, y, 1e-13);
    }

    @Property(tries = 30)
    void softmaxGradientsMatchFiniteDifferences(@ForAll("dims") List<Integer> dims, @ForAll @IntRange(min = -4, max = 3) int axisPick,
                                                @ForAll boolean log, @ForAll long seed) {
        Shape s = shape(dims);
        int axis = Math.floorMod(axisPick, s.rank()) - (axisPick < 0 ? s.rank() : 0);
        var in = inputs(seed, s);
        for (long i = 0; i < s.size(); i++) in.get("x0").set(i, 3 * in.get("x0").get(i));
        GradCheck.check(List.of(s), in, (b, v) -> List.of(log ? b.logSoftmax(v.getFirst(), axis) : b.softmax(v.getFirst(), axis)),
                seed, 1e-6, 1e-6, 40);
    }

    // ---- matmul and dense ----

    private static Shape operand(int batch, int rows, int cols, boolean trans) {
        int r = trans ? cols : rows, c = trans ? rows : cols;
        return batch == 0 ? Shape.of(r, c) : Shape.of(batch, r, c);
    }

    /** op(A) op(B) by the definition, element by element. */
    private static double[] expectedMatMul(Tensor a, Tensor b, int batch, int m, int k, int n, boolean ta, boolean tb) {
        int bt = Math.max(batch, 1);
        double[] c = new double[bt * m * n];
        for (int t = 0; t < bt; t++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        double av = a.get((long) t * m * k + (ta ? p * m + i : i * k + p));
                        double bv = b.get((long) t * k * n + (tb ? j * k + p : p * n + j));
                        s += av * bv;
                    }
                    c[(t * m + i) * n + j] = s;
                }
        return c;
    }

    @Property(tries = 40)
    void matmulMatchesDefinitionAndGradients(@ForAll @IntRange(min = 1, max = 5) int m, @ForAll @IntRange(min = 1, max = 5) int k,
                                             @ForAll @IntRange(min = 1, max = 5) int n, @ForAll @IntRange(min = 0, max = 3) int batch,
                                             @ForAll boolean ta, @ForAll boolean tb, @ForAll long seed) {
        Shape as = operand(batch, m, k, ta), bs = operand(batch, k, n, tb);
        var in = inputs(seed, as, bs);
        Tensor c = forward(in, (g, v) -> g.matmul(v.get(0), v.get(1), ta, tb));
        assertEquals(batch == 0 ? Shape.of(m, n) : Shape.of(batch, m, n), c.shape());
        assertClose(expectedMatMul(in.get("x0"), in.get("x1"), batch, m, k, n, ta, tb), c, 1e-13);
        GradCheck.check(List.of(as, bs), in, (g, v) -> List.of(g.matmul(v.get(0), v.get(1), ta, tb)), seed, 1e-6, 1e-6, 30);
    }

    @Test
    void gramMatrixOfFeaturesIsBatchedMatMulWithTransposedB() {
        int batch = 2, ch = 16, hw = 64;
        var in = inputs(11, Shape.of(batch, ch, hw));
        Tensor f = in.get("x0");
        Tensor gram = forward(in, (g, v) -> g.matmul(v.getFirst(), v.getFirst(), false, true));
        double[] expected = new double[batch * ch * ch];
        for (int t = 0; t < batch; t++)
            for (int i = 0; i < ch; i++)
                for (int j = 0; j < ch; j++)
                    for (int p = 0; p < hw; p++)
                        expected[(t * ch + i) * ch + j] += f.get(t, i, p) * f.get(t, j, p);
        assertEquals(Shape.of(batch, ch, ch), gram.shape());
        assertClose(expected, gram, 1e-13);
    }

    /** x w^T + b by the definition. */
    private static double[] expectedDense(Tensor x, Tensor w, Tensor b) {
        int n = x.shape().dim(0), k = x.shape().dim(1), m = w.shape().dim(0);
        double[] y = new double[n * m];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < m; j++) {
                double s = b == null ? 0 : b.get(j);
                for (int p = 0; p < k; p++) s += x.get(i, p) * w.get(j, p);
                y[i * m + j] = s;
            }
        return y;
    }

    @Property(tries = 30)
    void denseMatchesDefinitionAndGradients(@ForAll @IntRange(min = 1, max = 4) int n, @ForAll @IntRange(min = 1, max = 5) int k,
                                            @ForAll @IntRange(min = 1, max = 4) int m, @ForAll boolean bias, @ForAll long seed) {
        List<Shape> shapes = bias ? List.of(Shape.of(n, k), Shape.of(m, k), Shape.of(m)) : List.of(Shape.of(n, k), Shape.of(m, k));
        var in = GradCheck.randomInputs(shapes, seed);
        BiFunction<GraphBuilder, List<Value>, Value> f = (g, v) -> g.dense(v.get(0), v.get(1), bias ? v.get(2) : null);
        Tensor y = forward(in, f);
        assertEquals(Shape.of(n, m), y.shape());
        assertClose(expectedDense(in.get("x0"), in.get("x1"), bias ? in.get("x2") : null), y, 1e-13);
        GradCheck.check(shapes, in, (g, v) -> List.of(f.apply(g, v)), seed, 1e-6, 1e-6, 30);
    }

    @Test
    void denseLayerOfLeNetSizeInFloat() {
        // LeNet-5's first fully connected layer: 400 -> 120, here on a batch of 8, with DSL-made parameters.
        var b = new GraphBuilder(DType.F32, false);
        Value x = b.input("x", 8, 400);
        b.output("y", b.relu(b.dense("fc1", x, 120)));
        var in = inputs(21, Shape.of(8, 400), Shape.of(120, 400), Shape.of(120));
        Tensor xt = in.get("x0").as(DType.F32), wt = in.get("x1").as(DType.F32), bt = in.get("x2").as(DType.F32);
        try (Session s = Session.open(Compiler.compile(b.build()))) {
            s.set("fc1/weight", wt);
            s.set("fc1/bias", bt);
            Tensor y = s.run(Map.of("x", xt)).get("y");
            double[] expected = expectedDense(xt, wt, bt);
            for (int i = 0; i < expected.length; i++) expected[i] = Math.max(expected[i], 0);
            assertClose(expected, y, 1e-6);   // float storage of a double-accumulated result
        }
    }

    // ---- reshape and flatten ----

    @Property(tries = 20)
    void reshapeKeepsRowMajorOrderAndGradients(@ForAll @IntRange(min = 1, max = 3) int n, @ForAll @IntRange(min = 1, max = 3) int c,
                                               @ForAll @IntRange(min = 1, max = 4) int h, @ForAll long seed) {
        Shape s = Shape.of(n, c, h, 2);
        var in = inputs(seed, s);
        Tensor flat = forward(in, (b, v) -> b.flatten(v.getFirst()));
        assertEquals(Shape.of(n, c * h * 2), flat.shape());
        assertArrayEquals(in.get("x0").toDoubleArray(), flat.toDoubleArray(), 0);
        Tensor r = forward(in, (b, v) -> b.reshape(v.getFirst(), 2, -1, n));
        assertEquals(Shape.of(2, c * h, n), r.shape());
        assertArrayEquals(in.get("x0").toDoubleArray(), r.toDoubleArray(), 0);
        // Through a non-linear op so that a wrong gradient layout would show.
        GradCheck.check(List.of(s), in, (b, v) -> List.of(b.square(b.reshape(v.getFirst(), 0, -1))), seed, 1e-6, 1e-6, 30);
    }

    // ---- reductions ----

    @Property(tries = 40)
    void reductionsMatchMathAndGradients(@ForAll("dims") List<Integer> dims, @ForAll @Size(max = 4) Set<@IntRange(min = 0, max = 3) Integer> picks,
                                         @ForAll boolean keepDims, @ForAll boolean mean, @ForAll long seed) {
        Shape s = shape(dims);
        Set<Integer> axes = new TreeSet<>();
        for (int p : picks) if (p < s.rank()) axes.add(p);
        boolean all = axes.isEmpty();   // the DSL reads no axes as every axis
        if (all) for (int i = 0; i < s.rank(); i++) axes.add(i);
        int[] ax = all ? new int[0] : axes.stream().mapToInt(a -> seed % 2 == 0 ? a : a - s.rank()).toArray();
        var in = inputs(seed, s);
        BiFunction<GraphBuilder, List<Value>, Value> f =
                (b, v) -> mean ? b.reduceMean(v.getFirst(), keepDims, ax) : b.reduceSum(v.getFirst(), keepDims, ax);
        Tensor y = forward(in, f);

        // Output coordinates: the input's with reduced axes dropped (or set to 0 under keepDims).
        List<Integer> od = new ArrayList<>();
        for (int i = 0; i < s.rank(); i++) if (!axes.contains(i)) od.add(s.dim(i)); else if (keepDims) od.add(1);
        Shape os = shape(od);
        assertEquals(os, y.shape());
        double[] expected = new double[(int) os.size()];
        long count = s.size() / os.size();
        for (long i = 0; i < s.size(); i++) {
            int[] c = coords(i, s);
            int[] oc = new int[os.rank()];
            for (int d = 0, o = 0; d < s.rank(); d++) {
                if (!axes.contains(d)) oc[o++] = c[d];
                else if (keepDims) oc[o++] = 0;
            }
            expected[(int) flat(oc, os)] += in.get("x0").get(i) / (mean ? count : 1);
        }
        assertClose(expected, y, 1e-13);
        GradCheck.check(List.of(s), in, (b, v) -> List.of(f.apply(b, v)), seed, 1e-6, 1e-6, 30);
    }

    @Test
    void sumAllAndMeanAllGiveScalars() {
        var in = inputs(3, Shape.of(2, 3, 4));
        double sum = 0;
        for (double v : in.get("x0").toDoubleArray()) sum += v;
        Tensor s = forward(in, (b, v) -> b.sumAll(v.getFirst()));
        Tensor m = forward(in, (b, v) -> b.meanAll(v.getFirst()));
        assertEquals(Shape.SCALAR, s.shape());
        assertEquals(sum, s.item(), 1e-13);
        assertEquals(sum / 24, m.item(), 1e-14);
        GradCheck.check(List.of(Shape.of(2, 3, 4)), in, (b, v) -> List.of(b.meanAll(b.square(v.getFirst()))), 9, 1e-6, 1e-6, 24);
    }

    @Test
    void signHasZeroGradient() {
        var in = new LinkedHashMap<>(inputs(4, Shape.of(3, 2)));
        awayFromZero(in.get("x0"), 0.1);
        var r = GradCheck.check(List.of(Shape.of(3, 2)), in, (b, v) -> List.of(b.sign(v.getFirst())), 4, 1e-6, 1e-9, 6);
        assertEquals(0, r.maxAbsError(), 0);
        assertEquals(6, r.checked());
    }
}
