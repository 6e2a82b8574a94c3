package dev.stride.engine.cuda;

import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.Affine;
import dev.stride.graph.op.BiasBroadcast;
import dev.stride.graph.op.BiasGrad;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.BinaryBackward;
import dev.stride.graph.op.BroadcastTo;
import dev.stride.graph.op.Clip;
import dev.stride.graph.op.CounterRng;
import dev.stride.graph.op.Dropout;
import dev.stride.graph.op.Fill;
import dev.stride.graph.op.GaussianNoise;
import dev.stride.graph.op.PRelu;
import dev.stride.graph.op.Reshape;
import dev.stride.graph.op.SumTo;
import dev.stride.graph.op.Unary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Tag;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AddLifecycleHook;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The element-wise family's cuda kernels against the reference ({@link CudaCrossBackend}: the emulated device by
 * default, the GPU with -Pgpu): forward and the gradient of every differentiable input over random shapes and
 * attributes, bit for bit against the float32 reference where the kernel evaluates the reference's expression
 * without library functions, and on NaN, infinities and signed zeros.
 */
@Tag("cuda-kernels")
@AddLifecycleHook(CudaCrossBackend.SkipUnlessUsable.class)
class CudaElementwiseKernelsTest {
    /** Random dims in [1, max], a size 1 now and then. */
    static int[] dims(Random r, int rank, int max) {
        int[] d = new int[rank];
        for (int i = 0; i < rank; i++) d[i] = r.nextInt(5) == 0 ? 1 : 1 + r.nextInt(max);
        return d;
    }

    /** A shape that broadcasts to {@code out}: a suffix of it, some dimensions replaced by 1. */
    static Shape broadcastable(Random r, Shape out) {
        int rank = r.nextInt(5) == 0 ? 0 : r.nextInt(out.rank() + 1);
        int[] d = new int[rank];
        for (int i = 0; i < rank; i++) d[i] = r.nextInt(3) == 0 ? 1 : out.dim(out.rank() - rank + i);
        return Shape.of(d);
    }

    /** Uniform values in [lo, hi], float-rounded, with a random sign when {@code signed}. */
    static Tensor values(Shape s, long seed, double lo, double hi, boolean signed) {
        Random r = new Random(seed);
        Tensor t = Tensor.zeros(DType.F64, s);
        for (long i = 0; i < t.size(); i++) {
            double v = lo + (hi - lo) * r.nextDouble();
            t.set(i, (float) (signed && r.nextBoolean() ? -v : v));
        }
        return t;
    }

    private static CudaCrossBackend.Options forward(String tol) { return CudaCrossBackend.Options.forward(tol); }

    /** Functions evaluated with exp, log, tanh or pow: their last bit may differ between Java's library and C's. */
    private static boolean libraryFunction(Unary.Fn fn) {
        return switch (fn) {
            case ELU, SIGMOID, TANH, SOFTPLUS, EXP, LOG, SELU -> true;
            default -> false;
        };
    }

    // ---- Unary

    @Property(tries = 50)
    void unaryAndItsGradientMatchTheReference(@ForAll Unary.Fn fn, @ForAll @IntRange(min = 0, max = 4) int rank,
                                              @ForAll long seed) {
        Random r = new Random(seed);
        Shape s = Shape.of(dims(r, rank, 7));
        double alpha = 0.05 + r.nextDouble() * 1.5, beta = r.nextDouble();
        var o = forward("elementwise").withGradients(0);
        if (fn == Unary.Fn.LOG || fn == Unary.Fn.SQRT) o = o.withInput(0, values(s, seed, 0.05, 2, false));
        CudaCrossBackend.check(List.of(s), (b, x) -> List.of(b.apply("f", new Unary(fn, alpha, beta), x.getFirst())), seed, o);
        if (!libraryFunction(fn)) {   // and to the bit, gradient included, against the float32 reference
            CudaCrossBackend.check(List.of(s), (b, x) -> List.of(b.apply("f", new Unary(fn, alpha, beta), x.getFirst())),
                    seed, o.againstFloat32().withTolerance("exact"));
        }
    }

    @Property(tries = 16)
    void unaryAtSaturatingInputs(@ForAll Unary.Fn fn, @ForAll long seed) {
        // Far from 0 (up to e^80, near float's largest): sigmoid and tanh saturate, softplus is x or e^x.
        Shape s = Shape.of(3, 7);
        Tensor x = values(s, seed, 5, 80, fn != Unary.Fn.LOG && fn != Unary.Fn.SQRT);
        CudaCrossBackend.check(List.of(s), (b, v) -> List.of(b.apply("f", new Unary(fn, 0.3), v.getFirst())), seed,
                forward("elementwise").withInput(0, x));
    }

    /** NaN, infinities, signed zeros and the kinks: the reference's (Java's) rules, value and gradient. */
    @Example
    void unaryAndBinarySpecialValuesFollowTheReference() {
        float[] special = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, 1f, -1f, 3f, -3f,
                2.5f, -2.5f, 1e-30f, -1e-30f, Float.MAX_VALUE, -Float.MAX_VALUE, Float.MIN_VALUE};
        int n = special.length;
        Shape s = Shape.of(n), pair = Shape.of(n, n);
        Tensor x = Tensor.of(s, special);
        for (Unary.Fn fn : Unary.Fn.values()) {
            // Against the float32 reference: float overflows where float64 does not.
            var o = forward(libraryFunction(fn) ? "library" : "exact").withGradients(0).withInput(0, x).againstFloat32();
            CudaCrossBackend.check(List.of(s), (b, v) -> List.of(b.apply("f", new Unary(fn, 0.2, 0.5), v.getFirst())), 1, o);
        }
        // Every pair of special values, a along rows and b along columns (broadcast).
        for (Binary.Kind kind : Binary.Kind.values()) {
            var o = forward(kind == Binary.Kind.POW ? "library" : "exact").withInput(0, x).withInput(1, x).againstFloat32();
            var column = o.withInput(0, Tensor.of(Shape.of(n, 1), special));
            CudaCrossBackend.check(List.of(Shape.of(n, 1), s), (b, v) -> List.of(b.apply("op", new Binary(kind), v.get(0), v.get(1))), 2, column);
            if (kind == Binary.Kind.POW || kind == Binary.Kind.MAX || kind == Binary.Kind.MIN) {
                Tensor dy = Tensor.zeros(DType.F64, pair);
                for (long i = 0; i < dy.size(); i++) dy.set(i, 1 + i % 3);
                CudaCrossBackend.check(List.of(Shape.of(n, 1), s, pair), (b, v) -> b.applyAll("grad",
                        new BinaryBackward(kind), v.get(0), v.get(1), v.get(2)), 3, column.withInput(2, dy));
            }
        }
    }

    @Example
    void everyUnaryFunctionAndBinaryOperationHasADistinctCode() {
        assertEquals(Unary.Fn.values().length, Arrays.stream(Unary.Fn.values()).mapToInt(CudaElementwiseKernels::unaryCode).distinct().count());
        assertEquals(Binary.Kind.values().length, Arrays.stream(Binary.Kind.values()).mapToInt(CudaElementwiseKernels::binaryCode).distinct().count());
        String source = KernelSources.resource(CudaElementwiseKernels.SOURCE);
        for (Unary.Fn fn : Unary.Fn.values())
            assertTrue(source.contains("#define STRIDE_" + fn.name() + " " + CudaElementwiseKernels.unaryCode(fn) + "\n"), fn.name());
        for (Binary.Kind k : Binary.Kind.values())
            assertTrue(source.contains("#define STRIDE_" + k.name() + " " + CudaElementwiseKernels.binaryCode(k) + "\n"), k.name());
    }

    // ---- Binary, BinaryBackward

    @Property(tries = 50)
    void binaryOverBroadcastShapesAndItsGradients(@ForAll Binary.Kind kind, @ForAll @IntRange(min = 0, max = 4) int rank,
                                                  @ForAll boolean swap, @ForAll long seed) {
        Random r = new Random(seed);
        Shape out = Shape.of(dims(r, rank, 6));
        Shape a = out, c = broadcastable(r, out);
        if (swap) { Shape t = a; a = c; c = t; }
        // The gradient of a broadcast operand is a sum (SumTo) of float-rounded products: "reduction".
        var o = forward("reduction").withGradients(0, 1);
        // POW on a positive base (a negative one is NaN in both, and so is its gradient); DIV away from 0.
        if (kind == Binary.Kind.POW) o = o.withInput(0, values(a, seed, 0.2, 2, false));
        if (kind == Binary.Kind.DIV) o = o.withInput(1, values(c, seed, 0.2, 2, true));
        CudaCrossBackend.check(List.of(a, c), (b, x) -> List.of(b.apply("op", new Binary(kind), x.get(0), x.get(1))), seed, o);
        if (kind != Binary.Kind.POW)   // no library function: the float32 reference's bits, gradients' sums included
            CudaCrossBackend.check(List.of(a, c), (b, x) -> List.of(b.apply("op", new Binary(kind), x.get(0), x.get(1))),
                    seed, o.againstFloat32().withTolerance("exact"));
    }

    // ---- Affine, Fill, BroadcastTo, SumTo, BiasBroadcast, BiasGrad, Reshape

    @Property(tries = 30)
    void affineAndFill(@ForAll @IntRange(min = 0, max = 4) int rank, @ForAll long seed) {
        Random r = new Random(seed);
        Shape s = Shape.of(dims(r, rank, 6));
        double scale = r.nextGaussian() * 3, shift = r.nextGaussian(), value = r.nextGaussian();
        var o = forward("exact").withGradients(0).againstFloat32();
        CudaCrossBackend.check(List.of(s), (b, x) -> List.of(b.apply("a", new Affine(scale, shift), x.getFirst()),
                b.apply("fill", new Fill(s.dims(), value))), seed, o);
        CudaCrossBackend.check(List.of(s), (b, x) -> List.of(b.apply("a", new Affine(scale, shift), x.getFirst())), seed,
                forward("elementwise").withGradients(0));
    }

    @Property(tries = 40)
    void broadcastToAndSumToAreAdjoints(@ForAll @IntRange(min = 0, max = 5) int rank, @ForAll long seed) {
        Random r = new Random(seed);
        Shape big = Shape.of(dims(r, rank, 5)), small = broadcastable(r, big);
        // BroadcastTo's gradient is a SumTo, SumTo's a BroadcastTo: both kernels run in both checks.
        CudaCrossBackend.check(List.of(small), (b, x) -> List.of(b.apply("bc", new BroadcastTo(big.dims()), x.getFirst())),
                seed, forward("reduction").withGradients(0));
        CudaCrossBackend.check(List.of(big), (b, x) -> List.of(b.apply("sum", new SumTo(small.dims()), x.getFirst())),
                seed, forward("reduction").withGradients(0));
        CudaCrossBackend.check(List.of(big), (b, x) -> List.of(b.apply("sum", new SumTo(small.dims()), x.getFirst())),
                seed, forward("exact").againstFloat32());
    }

    @Property(tries = 30)
    void biasBroadcastBiasGradAndReshape(@ForAll @IntRange(min = 2, max = 4) int rank, @ForAll long seed) {
        Random r = new Random(seed);
        Shape s = Shape.of(dims(r, rank, 5));
        int[] flat = {(int) s.size()};
        CudaCrossBackend.check(List.of(Shape.of(s.dim(1))),
                (b, x) -> List.of(b.apply("bias", new BiasBroadcast(s.dims()), x.getFirst())), seed,
                forward("reduction").withGradients(0));
        CudaCrossBackend.check(List.of(s), (b, x) -> List.of(b.apply("db", new BiasGrad(), x.getFirst()),
                b.apply("flat", new Reshape(flat), x.getFirst())), seed, forward("exact").againstFloat32().withGradients(0));
    }

    @Example
    void emptyTensorsRunAndTheirSumsAreZero() {
        Shape empty = Shape.of(2, 0, 3);
        CudaCrossBackend.check(List.of(empty), (b, x) -> List.of(b.apply("sum", new SumTo(new int[] {3}), x.getFirst()),
                b.apply("relu", new Unary(Unary.Fn.RELU), x.getFirst()), b.apply("db", new BiasGrad(), x.getFirst())),
                1, forward("exact").againstFloat32());
    }

    // ---- Clip, PRelu

    @Property(tries = 40)
    void clipAndItsGradient(@ForAll @IntRange(min = 0, max = 6) int lo, @ForAll @IntRange(min = 0, max = 6) int hi,
                            @ForAll @IntRange(min = 0, max = 3) int rank, @ForAll long seed) {
        double[] bounds = {Double.NEGATIVE_INFINITY, -0.5, -0.1, 0, 0.3, 0.8, Double.POSITIVE_INFINITY};
        Shape s = Shape.of(dims(new Random(seed), rank, 6));
        CudaCrossBackend.check(List.of(s), (b, x) -> List.of(b.apply("clip", new Clip(bounds[lo], bounds[hi]), x.getFirst())),
                seed, forward("exact").againstFloat32().withGradients(0));
    }

    @Property(tries = 40)
    void preluAndItsGradients(@ForAll @IntRange(min = 1, max = 4) int rank, @ForAll boolean shared, @ForAll long seed) {
        Random r = new Random(seed);
        Shape x = Shape.of(dims(r, rank, 5));
        Shape slope = Shape.of(shared || rank < 2 ? 1 : x.dim(1));
        CudaCrossBackend.check(List.of(x, slope), (b, v) -> List.of(b.apply("prelu", new PRelu(), v.get(0), v.get(1))),
                seed, forward("reduction").withGradients(0, 1));
        CudaCrossBackend.check(List.of(x, slope), (b, v) -> List.of(b.apply("prelu", new PRelu(), v.get(0), v.get(1))),
                seed, forward("exact").againstFloat32().withGradients(0, 1));
    }

    // ---- Dropout, GaussianNoise: the reference's streams

    @Property(tries = 30)
    void dropoutAndNoiseDrawTheReferencesNumbers(@ForAll @IntRange(min = 0, max = 3) int rank,
                                                 @ForAll @IntRange(min = 0, max = 9) int tenthsP, @ForAll long seed) {
        Shape s = Shape.of(dims(new Random(seed), rank, 7));
        double p = tenthsP / 10.0;
        // The mask, y = x * mask and dy * mask: the float32 reference's bits.
        CudaCrossBackend.check(List.of(s), (b, x) -> b.applyAll("drop", new Dropout(p, seed), x.getFirst()), seed,
                forward("exact").againstFloat32().withGradients(0));
        CudaCrossBackend.check(List.of(), (b, x) -> List.of(b.apply("noise", new GaussianNoise(s.dims(), seed))), seed,
                forward("random"));
    }

    /** The streams change with the step and repeat for a step, on every run of a session, as the reference's. */
    @Example
    void randomStreamsFollowTheSessionStep() {
        CudaCrossBackend.assumeUsable();
        Shape s = Shape.of(4, 33);
        var b = new GraphBuilder(DType.F32, false);
        Value x = b.input("x", s);
        List<Value> drop = b.applyAll("drop", new Dropout(0.4, 99), x);
        b.output("mask", drop.get(1));
        b.output("noise", b.apply("noise", new GaussianNoise(s.dims(), 7)));
        Plan plan = Compiler.compile(b.build(), CudaCrossBackend.backend().target());
        Tensor ones = Tensor.zeros(DType.F32, s);
        for (long i = 0; i < ones.size(); i++) ones.set(i, 1);
        try (Session cuda = Session.open(plan, CudaCrossBackend.backend(), SessionOptions.defaults())) {
            for (long step : new long[] {0, 1, 1000}) {
                cuda.setStep(step);
                Map<String, Tensor> out = cuda.run(Map.of("x", ones));
                long key = CounterRng.key(99, step), noiseKey = CounterRng.key(7, step);
                float keep = (float) (1 / (1 - 0.4));
                for (int i = 0; i < s.size(); i++) {
                    assertEquals(CounterRng.uniform(key, i) >= 0.4 ? keep : 0f, (float) out.get("mask").get(i), "mask " + i + " at step " + step);
                    float want = (float) CounterRng.gaussian(noiseKey, i), got = (float) out.get("noise").get(i);
                    assertTrue(Math.abs(got - want) <= Math.ulp(want), "noise " + i + " at step " + step + ": " + got + " vs " + want);
                }
            }
        }
    }
}
