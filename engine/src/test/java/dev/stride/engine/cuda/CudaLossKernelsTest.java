package dev.stride.engine.cuda;

import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Shape;
import dev.stride.graph.op.BceWithLogits;
import dev.stride.graph.op.BceWithLogitsBackward;
import dev.stride.graph.op.GaussianKl;
import dev.stride.graph.op.GaussianKlBackward;
import dev.stride.graph.op.L1Loss;
import dev.stride.graph.op.L1LossBackward;
import dev.stride.graph.op.LogSoftmax;
import dev.stride.graph.op.LogSoftmaxBackward;
import dev.stride.graph.op.MseLoss;
import dev.stride.graph.op.ReduceMax;
import dev.stride.graph.op.ReduceMaxBackward;
import dev.stride.graph.op.ReduceMean;
import dev.stride.graph.op.ReduceSum;
import dev.stride.graph.op.Reparameterize;
import dev.stride.graph.op.ReparameterizeBackward;
import dev.stride.graph.op.Softmax;
import dev.stride.graph.op.SoftmaxBackward;
import dev.stride.graph.op.SoftmaxCrossEntropy;
import dev.stride.graph.op.SoftmaxCrossEntropyBackward;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Tag;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AddLifecycleHook;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The loss family's cuda kernels against the reference ({@link CudaCrossBackend}: the emulated device by default,
 * the GPU with -Pgpu). Against the float32 reference, every forward op and every gradient op fed directly (y, dy,
 * labels as inputs): kernels without library functions (reductions, MSE, L1, the softmax gradient) agree to the
 * bit, those calling exp, log, log1p or cos within one float rounding step. Against the float64 oracle, the
 * gradient of every differentiable input through autodiff. Random shapes and attributes: batch 1, size-1 and empty
 * dimensions, negative axes, ties, NaN and infinities.
 */
@Tag("cuda-kernels")
@AddLifecycleHook(CudaCrossBackend.SkipUnlessUsable.class)
class CudaLossKernelsTest {
    /** Against the float32 reference, to the bit. */
    private static final CudaCrossBackend.Options EXACT = CudaCrossBackend.Options.forward("exact").againstFloat32();
    /** Against the float32 reference, for kernels calling exp, log, log1p or cos. */
    private static final CudaCrossBackend.Options LIBRARY = CudaCrossBackend.Options.forward("library").againstFloat32();

    /** Forward and the gradients of {@code inputs} through autodiff, against the float64 oracle. */
    private static CudaCrossBackend.Options gradients(Integer... inputs) {
        return CudaCrossBackend.Options.forward("reduction").withGradients(inputs);
    }

    static int[] dims(Random r, int rank, int max) { return CudaLayoutKernelsTest.dims(r, rank, max); }

    /** Float-rounded values uniform in [lo, hi]. */
    static Tensor values(Shape s, Random r, double lo, double hi) {
        Tensor t = Tensor.zeros(DType.F64, s);
        for (long i = 0; i < t.size(); i++) t.set(i, (float) (lo + (hi - lo) * r.nextDouble()));
        return t;
    }

    /** Small integers: ties for the maximum, and equal pairs for L1's zero subgradient. */
    static Tensor ties(Shape s, Random r) {
        Tensor t = Tensor.zeros(DType.F64, s);
        for (long i = 0; i < t.size(); i++) t.set(i, r.nextInt(3) - 1);
        return t;
    }

    // ---- softmax

    @Property(tries = 40)
    void softmaxAndLogSoftmaxAlongAnyAxis(@ForAll @IntRange(min = 1, max = 4) int rank, @ForAll long seed) {
        Random r = new Random(seed);
        Shape s = Shape.of(dims(r, rank, 6));
        int axis = r.nextInt(2 * rank) - rank;
        // Spread over [-30, 30]: the shift by the maximum matters, and some terms underflow to 0.
        var o = LIBRARY.withInput(0, values(s, r, -30, 30));
        CudaCrossBackend.check(List.of(s), (b, x) -> List.of(b.apply("softmax", new Softmax(axis), x.getFirst()),
                b.apply("log_softmax", new LogSoftmax(axis), x.getFirst())), seed, o);
        CudaCrossBackend.check(List.of(s, s), (b, x) -> List.of(b.apply("softmax_grad", new SoftmaxBackward(axis),
                x.get(0), x.get(1))), seed, EXACT);
        CudaCrossBackend.check(List.of(s, s), (b, x) -> List.of(b.apply("log_softmax_grad", new LogSoftmaxBackward(axis),
                x.get(0), x.get(1))), seed, LIBRARY);
        CudaCrossBackend.check(List.of(s), (b, x) -> List.of(b.apply("softmax", new Softmax(axis), x.getFirst()),
                b.apply("log_softmax", new LogSoftmax(axis), x.getFirst())), seed, gradients(0));
    }

    // ---- losses

    @Property(tries = 40)
    void softmaxCrossEntropyAndItsGradient(@ForAll @IntRange(min = 1, max = 6) int rows,
                                           @ForAll @IntRange(min = 1, max = 7) int classes, @ForAll long seed) {
        Random r = new Random(seed);
        Shape logits = Shape.of(rows, classes), labels = Shape.of(rows);
        Tensor l = Tensor.zeros(DType.F64, labels);
        for (int i = 0; i < rows; i++) l.set(i, r.nextInt(classes));
        var o = LIBRARY.withInput(0, values(logits, r, -8, 8)).withInput(1, l);
        CudaCrossBackend.check(List.of(logits, labels), (b, x) -> List.of(b.apply("sce", new SoftmaxCrossEntropy(),
                x.get(0), x.get(1))), seed, o);
        CudaCrossBackend.check(List.of(logits, labels, Shape.SCALAR), (b, x) -> List.of(b.apply("sce_grad",
                new SoftmaxCrossEntropyBackward(), x.get(0), x.get(1), x.get(2))), seed, o);
        CudaCrossBackend.check(List.of(logits, labels), (b, x) -> List.of(b.apply("sce", new SoftmaxCrossEntropy(),
                x.get(0), x.get(1))), seed, gradients(0).withInput(1, l));
    }

    /** The reference throws for a label that is not a class index; a kernel cannot, so the loss and its row are NaN. */
    @Example
    void aLabelThatIsNotAClassIndexGivesNaN() {
        var b = new GraphBuilder(DType.F32, false);
        var logits = b.input("logits", 3, 4);
        var labels = b.input("labels", 3);
        var dy = b.input("dy", Shape.SCALAR);
        b.output("loss", b.apply("sce", new SoftmaxCrossEntropy(), logits, labels));
        b.output("grad", b.apply("sce_grad", new SoftmaxCrossEntropyBackward(), logits, labels, dy));
        var plan = Compiler.compile(b.build(), CudaCrossBackend.backend().target());
        float[] x = new float[12];
        for (int i = 0; i < x.length; i++) x[i] = i * 0.25f - 1;
        for (float bad : new float[] {4, -1, 1.5f, Float.NaN}) {
            try (Session s = Session.open(plan, CudaCrossBackend.backend(), SessionOptions.defaults())) {
                Map<String, Tensor> out = s.run(Map.of("logits", Tensor.of(Shape.of(3, 4), x),
                        "labels", Tensor.of(Shape.of(3), 0f, bad, 3f), "dy", Tensor.of(Shape.SCALAR, 1f)));
                assertTrue(Float.isNaN(out.get("loss").toFloatArray()[0]), "label " + bad);
                float[] g = out.get("grad").toFloatArray();
                for (int i = 0; i < 12; i++)
                    assertEquals(i / 4 == 1, Float.isNaN(g[i]), "label " + bad + ", gradient element " + i);
            }
        }
    }

    @Property(tries = 40)
    void meanLossesAndTheirGradients(@ForAll @IntRange(min = 1, max = 4) int rank, @ForAll long seed) {
        Random r = new Random(seed);
        Shape s = Shape.of(dims(r, rank, 6));
        Tensor a = values(s, r, -4, 4), t = values(s, r, 0, 1);
        // BCE with logits: logits and targets in [0, 1]; its gradient takes dy as a third input.
        var bce = LIBRARY.withInput(0, a).withInput(1, t);
        CudaCrossBackend.check(List.of(s, s), (b, x) -> List.of(b.apply("bce", new BceWithLogits(), x.get(0), x.get(1))),
                seed, bce);
        CudaCrossBackend.check(List.of(s, s, Shape.SCALAR), (b, x) -> b.applyAll("bce_grad", new BceWithLogitsBackward(),
                x.get(0), x.get(1), x.get(2)), seed, bce);
        // MSE and L1 on pairs with ties (L1's subgradient 0): no library function, the reference's bits.
        var pairs = EXACT.withInput(0, ties(s, r)).withInput(1, ties(s, r));
        CudaCrossBackend.check(List.of(s, s), (b, x) -> List.of(b.apply("mse", new MseLoss(), x.get(0), x.get(1)),
                b.apply("l1", new L1Loss(), x.get(0), x.get(1))), seed, pairs);
        CudaCrossBackend.check(List.of(s, s), (b, x) -> List.of(b.apply("mse", new MseLoss(), x.get(0), x.get(1)),
                b.apply("l1", new L1Loss(), x.get(0), x.get(1))), seed, EXACT);
        CudaCrossBackend.check(List.of(s, s, Shape.SCALAR), (b, x) -> List.of(b.apply("l1_grad", new L1LossBackward(),
                x.get(0), x.get(1), x.get(2))), seed, pairs);
        // Gaussian KL: mean over the batch dimension, sum over the rest.
        CudaCrossBackend.check(List.of(s, s), (b, x) -> List.of(b.apply("kl", new GaussianKl(), x.get(0), x.get(1))),
                seed, LIBRARY);
        CudaCrossBackend.check(List.of(s, s, Shape.SCALAR), (b, x) -> b.applyAll("kl_grad", new GaussianKlBackward(),
                x.get(0), x.get(1), x.get(2)), seed, LIBRARY);
        // Every loss and the gradients of both its inputs through autodiff (MSE's are element-wise ops).
        CudaCrossBackend.check(List.of(s, s), (b, x) -> List.of(b.apply("bce", new BceWithLogits(), x.get(0), x.get(1)),
                b.apply("mse", new MseLoss(), x.get(0), x.get(1)), b.apply("l1", new L1Loss(), x.get(0), x.get(1)),
                b.apply("kl", new GaussianKl(), x.get(0), x.get(1))), seed, gradients(0, 1));
    }

    /** NaN and infinities pass through the losses as they do in the reference. */
    @Example
    void lossesOfSpecialValues() {
        float[] special = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0f, -0f, 1f, -1f, 100f};
        Shape s = Shape.of(special.length);
        Tensor x = Tensor.of(s, special);
        for (int k = 0; k < special.length; k++) {
            // One special value among ordinary ones, in each loss and each gradient.
            float[] v = {0.5f, -0.25f, special[k], 2f};
            Shape four = Shape.of(4);
            Tensor t = Tensor.of(four, v), u = Tensor.of(four, 0.25f, 0.75f, 0.5f, 1f);
            var o = LIBRARY.withInput(0, t).withInput(1, u);
            CudaCrossBackend.check(List.of(four, four), (b, in) -> List.of(b.apply("bce", new BceWithLogits(), in.get(0), in.get(1)),
                    b.apply("mse", new MseLoss(), in.get(0), in.get(1)), b.apply("l1", new L1Loss(), in.get(0), in.get(1)),
                    b.apply("kl", new GaussianKl(), in.get(0), in.get(1)), b.apply("kl_r", new GaussianKl(), in.get(1), in.get(0))),
                    k, o);
            CudaCrossBackend.check(List.of(four, four, Shape.SCALAR), (b, in) -> {
                List<dev.stride.graph.Value> outs = new ArrayList<>(b.applyAll("bce_grad", new BceWithLogitsBackward(),
                        in.get(0), in.get(1), in.get(2)));
                outs.add(b.apply("l1_grad", new L1LossBackward(), in.get(0), in.get(1), in.get(2)));
                outs.addAll(b.applyAll("kl_grad", new GaussianKlBackward(), in.get(1), in.get(0), in.get(2)));
                return outs;
            }, k, o);
            // Softmax along a row holding the special value: NaN spreads, +inf leaves NaN (inf - inf), -inf gives 0.
            CudaCrossBackend.check(List.of(four), (b, in) -> List.of(b.apply("softmax", new Softmax(0), in.getFirst()),
                    b.apply("log_softmax", new LogSoftmax(-1), in.getFirst())), k, o);
        }
        CudaCrossBackend.check(List.of(s), (b, in) -> List.of(b.apply("max", new ReduceMax(new int[] {0}, false), in.getFirst()),
                b.apply("sum", new ReduceSum(new int[] {0}, true), in.getFirst())), 9, EXACT.withInput(0, x));
    }

    // ---- reparameterize

    @Property(tries = 30)
    void reparameterizeDrawsTheReferencesNoise(@ForAll @IntRange(min = 0, max = 4) int rank, @ForAll long seed) {
        Random r = new Random(seed);
        Shape s = Shape.of(dims(r, rank, 6));
        long opSeed = r.nextLong();
        // Outputs z and eps: the noise of (seed, step 3) must be the reference's, number for number.
        CudaCrossBackend.check(List.of(s, s), (b, x) -> b.applyAll("rep", new Reparameterize(opSeed), x.get(0), x.get(1)),
                seed, LIBRARY);
        CudaCrossBackend.check(List.of(s, s, s), (b, x) -> List.of(b.apply("rep_grad", new ReparameterizeBackward(),
                x.get(0), x.get(1), x.get(2))), seed, LIBRARY);
        CudaCrossBackend.check(List.of(s, s), (b, x) -> b.applyAll("rep", new Reparameterize(opSeed), x.get(0), x.get(1)),
                seed, gradients(0, 1));
    }

    // ---- reductions

    /** Distinct axes of a rank-r shape, each written as itself or its negative alias. */
    static int[] axes(Random r, int rank) {
        List<Integer> a = new ArrayList<>();
        for (int i = 0; i < rank; i++) if (r.nextBoolean()) a.add(r.nextBoolean() ? i : i - rank);
        java.util.Collections.shuffle(a, r);
        return a.stream().mapToInt(Integer::intValue).toArray();
    }

    @Property(tries = 60)
    void reductionsOverAnyAxesAndTheMaximumsGradient(@ForAll @IntRange(min = 0, max = 4) int rank,
                                                     @ForAll boolean keepDims, @ForAll long seed) {
        Random r = new Random(seed);
        int[] d = dims(r, rank, 5);
        if (rank > 0 && r.nextInt(8) == 0) d[r.nextInt(rank)] = 0;   // an empty axis: sum 0, mean NaN, max -inf
        Shape s = Shape.of(d);
        int[] axes = axes(r, rank);
        CudaCrossBackend.check(List.of(s), (b, x) -> List.of(b.apply("sum", new ReduceSum(axes, keepDims), x.getFirst()),
                b.apply("mean", new ReduceMean(axes, keepDims), x.getFirst()),
                b.apply("max", new ReduceMax(axes, keepDims), x.getFirst())), seed, EXACT);
        // The gradient of the maximum, on inputs with ties: the first maximum in row-major order takes dy.
        Shape reduced = new ReduceMax(axes, keepDims).inferShapes(List.of(s)).getFirst();
        CudaCrossBackend.check(List.of(s, reduced), (b, x) -> List.of(b.apply("max_grad",
                new ReduceMaxBackward(axes, keepDims), x.get(0), x.get(1))), seed, EXACT.withInput(0, ties(s, r)));
        CudaCrossBackend.check(List.of(s), (b, x) -> List.of(b.apply("sum", new ReduceSum(axes, keepDims), x.getFirst()),
                b.apply("mean", new ReduceMean(axes, keepDims), x.getFirst()),
                b.apply("max", new ReduceMax(axes, keepDims), x.getFirst())), seed, gradients(0));
    }

    @Example
    void theMaximumsGradientGoesToTheFirstNaN() {
        Shape s = Shape.of(2, 5);
        Tensor x = Tensor.of(s, 1f, Float.NaN, 3f, Float.NaN, 3f, 2f, 2f, Float.NEGATIVE_INFINITY, 2f, 0f);
        for (int[] axes : new int[][] {{1}, {0}, {0, 1}, {}})
            CudaCrossBackend.check(List.of(s, new ReduceMax(axes, true).inferShapes(List.of(s)).getFirst()),
                    (b, v) -> List.of(b.apply("max_grad", new ReduceMaxBackward(axes, true), v.get(0), v.get(1))), 4,
                    EXACT.withInput(0, x));
    }
}
