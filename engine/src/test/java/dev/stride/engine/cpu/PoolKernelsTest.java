package dev.stride.engine.cpu;

import dev.stride.engine.Tensor;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.PoolSpec;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.AdaptiveAvgPool2d;
import dev.stride.graph.op.AdaptiveAvgPool2dBackward;
import dev.stride.graph.op.AvgPool2d;
import dev.stride.graph.op.AvgPool2dBackward;
import dev.stride.graph.op.BatchNorm2dBackward;
import dev.stride.graph.op.BatchNorm2dInfer;
import dev.stride.graph.op.BatchNorm2dInferBackward;
import dev.stride.graph.op.BatchNorm2dTrain;
import dev.stride.graph.op.MaxPool2d;
import dev.stride.graph.op.MaxPool2dBackward;
import dev.stride.graph.op.Upsample2d;
import dev.stride.graph.op.Upsample2dBackward;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;


/**
 * The cpu pooling, resizing and batch-norm kernels against the float64 reference ({@link CrossBackend}: forward and
 * the gradient of every differentiable input, which runs the backward ops' cpu kernels, at 1 and 2 threads), and
 * their other paths ({@link KernelPaths}: scalar, 128-bit, and 2 threads bit-identical to 1 on shapes large enough
 * to be split).
 */
class PoolKernelsTest {
    private static final KernelPaths.Family POOL = PoolKernels::register;

    private static CrossBackend.Options opts(String tol, int threads, Class<?>... ops) {
        return CrossBackend.Options.forward(tol, ops).withThreads(threads);
    }

    // ---------------------------------------------------------------------------------------------- max pool

    /** Pads within kernel/2 and an input at least one dilated window long: always a valid configuration. */
    private static PoolSpec maxSpec(int kH, int kW, int sH, int sW, int dH, int dW, int pads, boolean ceil) {
        return PoolSpec.of(kH, kW).stride(sH, sW).dilation(dH, dW).ceilMode(ceil)
                .pad(Math.min(pads & 1, kH / 2), Math.min(pads >> 1 & 1, kW / 2), Math.min(pads >> 2 & 1, kH / 2),
                        Math.min(pads >> 3 & 1, kW / 2));
    }

    @Property(tries = 60)
    void maxPoolMatchesTheReference(@ForAll @IntRange(min = 1, max = 2) int n, @ForAll @IntRange(min = 1, max = 3) int c,
                                    @ForAll @IntRange(min = 1, max = 3) int kH, @ForAll @IntRange(min = 1, max = 3) int kW,
                                    @ForAll @IntRange(min = 1, max = 4) int sH, @ForAll @IntRange(min = 1, max = 4) int sW,
                                    @ForAll @IntRange(min = 1, max = 2) int dH, @ForAll @IntRange(min = 1, max = 2) int dW,
                                    @ForAll @IntRange(min = 0, max = 15) int pads, @ForAll boolean ceil,
                                    @ForAll @IntRange(min = 0, max = 6) int extraH, @ForAll @IntRange(min = 0, max = 40) int extraW,
                                    @ForAll @IntRange(min = 1, max = 2) int threads) {
        PoolSpec p = maxSpec(kH, kW, sH, sW, dH, dW, pads, ceil);
        Shape s = Shape.of(n, c, dH * (kH - 1) + 1 + extraH, dW * (kW - 1) + 1 + extraW);
        CrossBackend.check(List.of(s), (b, x) -> List.of(b.maxPool2d(x.getFirst(), p)), 31L * kH + extraW,
                opts("pool", threads, MaxPool2d.class, MaxPool2dBackward.class).withGradients(0));
    }

    /**
     * Inputs from {-1, 0, 1} (and signed zeros): most windows have tied maxima, and a gradient routed to another
     * tie than the reference's first-in-row-major-order would differ by a whole dy.
     */
    @Property(tries = 30)
    void maxPoolGradientGoesToTheReferencesTie(@ForAll @IntRange(min = 1, max = 3) int k, @ForAll @IntRange(min = 1, max = 3) int s,
                                               @ForAll @IntRange(min = 0, max = 15) int pads, @ForAll boolean ceil,
                                               @ForAll @IntRange(min = 0, max = 30) int extra, @ForAll long seed) {
        PoolSpec p = maxSpec(k, k, s, s, 1, 1, pads, ceil);
        Shape shape = Shape.of(1, 2, k + extra / 3, k + extra);
        Tensor x = Tensor.zeros(DType.F32, shape);
        Random r = new Random(seed);
        float[] values = {-1f, 0f, -0f, 1f};
        for (long i = 0; i < x.size(); i++) x.set(i, values[r.nextInt(values.length)]);
        CrossBackend.check(List.of(shape), (b, xs) -> List.of(b.maxPool2d(xs.getFirst(), p)), seed,
                opts("pool", 1, MaxPool2d.class, MaxPool2dBackward.class).withGradients(0).withInput(0, x));
    }

    /**
     * 2x2 windows at stride 2 without padding (the kernel that reads pairs of lanes instead of a phase-split
     * plane): x from {-1, 0, -0, 1} with an occasional NaN (ties and NaN pick the reference's tap), dy with -0,
     * odd sizes (a last row and column in no window; in ceil mode a partial window, which the general kernel
     * takes), rows shorter than a vector and longer (the overlapping last vector): forward and backward bit for bit
     * the float32 reference, on the SIMD and the scalar path.
     */
    @Property(tries = 40)
    void maxPoolTwoByTwoEqualsTheFloatReferenceBitForBit(@ForAll long seed) {
        Random r = new Random(seed);
        int h = 2 + r.nextInt(12), w = 2 + r.nextInt(r.nextBoolean() ? 14 : 60);
        boolean ceil = r.nextInt(4) == 0;
        Shape x = Shape.of(1 + r.nextInt(2), 1 + r.nextInt(3), h, w);
        MaxPool2d max = new MaxPool2d(2, 2, 2, 2, 0, 0, 0, 0, 1, 1, ceil);
        Shape pooled = max.inferShapes(List.of(x)).getFirst();
        List<Shape> shapes = List.of(x, pooled);
        float[] values = {-1f, 0f, -0f, 1f, -1f, 0f, -0f, 1f, Float.NaN};
        Tensor xs = Tensor.zeros(DType.F32, x), dys = Tensor.zeros(DType.F32, pooled);
        for (long i = 0; i < xs.size(); i++) xs.set(i, values[r.nextInt(r.nextInt(3) == 0 ? 9 : 8)]);
        for (long i = 0; i < dys.size(); i++) dys.set(i, r.nextInt(5) == 0 ? -0f : r.nextFloat() * 2 - 1);
        BiFunction<GraphBuilder, List<Value>, List<Value>> f = (b, v) -> List.of(b.apply("max", max, v.get(0)),
                b.apply("max_grad", new MaxPool2dBackward(2, 2, 2, 2, 0, 0, 0, 0, 1, 1, ceil), v.get(0), v.get(1)));
        var feeds = KernelPaths.inputs(shapes, seed, Map.of(0, xs, 1, dys));
        GraphBuilder b = new GraphBuilder(DType.F32, false);
        List<Value> in = new java.util.ArrayList<>();
        for (int i = 0; i < shapes.size(); i++) in.add(b.input("x" + i, shapes.get(i)));
        List<Value> outs = f.apply(b, in);
        for (int i = 0; i < outs.size(); i++) b.output("out" + i, outs.get(i));
        try (var ref = dev.stride.engine.Session.open(dev.stride.graph.Compiler.compile(b.build()), "reference",
                dev.stride.engine.SessionOptions.defaults())) {
            var want = ref.run(feeds);
            for (KernelPaths.Path path : List.of(KernelPaths.Path.simd(1), KernelPaths.Path.scalar()))
                KernelPaths.assertBitIdentical(want, KernelPaths.run(shapes, f, feeds, path,
                        List.of(MaxPool2d.class, MaxPool2dBackward.class), POOL), path + " vs float32 reference " + x);
        }
    }

    /**
     * Max pooling (both directions) and the resize backwards keep the float32 reference's arithmetic (the same
     * argmax, double accumulation in the same order, one rounding): their outputs equal it bit for bit.
     */
    @Property(tries = 30)
    void exactKernelsEqualTheFloatReferenceBitForBit(@ForAll @IntRange(min = 1, max = 3) int k, @ForAll @IntRange(min = 1, max = 3) int s,
                                                     @ForAll @IntRange(min = 1, max = 2) int d, @ForAll @IntRange(min = 0, max = 15) int pads,
                                                     @ForAll boolean ceil, @ForAll @IntRange(min = 0, max = 30) int extra,
                                                     @ForAll @IntRange(min = 1, max = 40) int outW, @ForAll boolean bilinear,
                                                     @ForAll long seed) {
        PoolSpec p = maxSpec(k, k, s, s, d, d, pads, ceil);
        Shape x = Shape.of(2, 3, d * (k - 1) + 1 + extra / 3, d * (k - 1) + 1 + extra);
        MaxPool2d max = new MaxPool2d(k, k, s, s, p.padTop(), p.padLeft(), p.padBottom(), p.padRight(), d, d, ceil);
        Shape pooled = max.inferShapes(List.of(x)).getFirst(), up = Shape.of(2, 3, 5, outW);
        Upsample2d.Mode mode = bilinear ? Upsample2d.Mode.BILINEAR : Upsample2d.Mode.NEAREST;
        List<Shape> shapes = List.of(x, pooled, up);
        java.util.function.BiFunction<GraphBuilder, List<Value>, List<Value>> f = (b, v) -> List.of(
                b.apply("max", max, v.get(0)),
                b.apply("max_grad", new MaxPool2dBackward(k, k, s, s, p.padTop(), p.padLeft(), p.padBottom(), p.padRight(),
                        d, d, ceil), v.get(0), v.get(1)),
                b.apply("up_grad", new Upsample2dBackward(mode, x.dim(2), x.dim(3), bilinear && seed % 2 == 0), v.get(2)));
        var feeds = KernelPaths.inputs(shapes, seed, Map.of());
        var cpu = KernelPaths.run(shapes, f, feeds, KernelPaths.Path.simd(1),
                List.of(MaxPool2d.class, MaxPool2dBackward.class, Upsample2dBackward.class), POOL);
        GraphBuilder b = new GraphBuilder(DType.F32, false);
        List<Value> xs = new java.util.ArrayList<>();
        for (int i = 0; i < shapes.size(); i++) xs.add(b.input("x" + i, shapes.get(i)));
        List<Value> outs = f.apply(b, xs);
        for (int i = 0; i < outs.size(); i++) b.output("out" + i, outs.get(i));
        try (var ref = dev.stride.engine.Session.open(dev.stride.graph.Compiler.compile(b.build()), "reference",
                dev.stride.engine.SessionOptions.defaults())) {
            KernelPaths.assertBitIdentical(ref.run(feeds), cpu, "cpu vs float32 reference");
        }
    }

    // ---------------------------------------------------------------------------------------------- average pools

    @Property(tries = 60)
    void avgPoolMatchesTheReference(@ForAll @IntRange(min = 1, max = 2) int n, @ForAll @IntRange(min = 1, max = 3) int c,
                                    @ForAll @IntRange(min = 1, max = 4) int kH, @ForAll @IntRange(min = 1, max = 4) int kW,
                                    @ForAll @IntRange(min = 1, max = 5) int sH, @ForAll @IntRange(min = 1, max = 5) int sW,
                                    @ForAll @IntRange(min = 0, max = 15) int pads, @ForAll boolean ceil,
                                    @ForAll boolean countIncludePad,
                                    @ForAll @IntRange(min = 0, max = 6) int extraH, @ForAll @IntRange(min = 0, max = 40) int extraW,
                                    @ForAll @IntRange(min = 1, max = 2) int threads) {
        PoolSpec p = maxSpec(kH, kW, sH, sW, 1, 1, pads, ceil).countIncludePad(countIncludePad);
        Shape s = Shape.of(n, c, kH + extraH, kW + extraW);
        CrossBackend.check(List.of(s), (b, x) -> List.of(b.avgPool2d(x.getFirst(), p)), 7L * kW + extraH,
                opts("pool", threads, AvgPool2d.class, AvgPool2dBackward.class).withGradients(0));
    }

    @Property(tries = 50)
    void adaptiveAvgPoolMatchesTheReference(@ForAll @IntRange(min = 1, max = 2) int n, @ForAll @IntRange(min = 1, max = 3) int c,
                                            @ForAll @IntRange(min = 1, max = 20) int h, @ForAll @IntRange(min = 1, max = 40) int w,
                                            @ForAll @IntRange(min = 1, max = 9) int outH, @ForAll @IntRange(min = 1, max = 24) int outW,
                                            @ForAll @IntRange(min = 1, max = 2) int threads) {
        // Bins overlap when the output does not divide the input, and repeat cells when it is larger.
        CrossBackend.check(List.of(Shape.of(n, c, h, w)), (b, x) -> List.of(b.adaptiveAvgPool2d(x.getFirst(), outH, outW)),
                h * 41L + w, opts("pool", threads, AdaptiveAvgPool2d.class, AdaptiveAvgPool2dBackward.class).withGradients(0));
    }

    // ---------------------------------------------------------------------------------------------- resizing

    @Property(tries = 60)
    void upsampleMatchesTheReference(@ForAll @IntRange(min = 1, max = 2) int n, @ForAll @IntRange(min = 1, max = 3) int c,
                                     @ForAll @IntRange(min = 1, max = 12) int h, @ForAll @IntRange(min = 1, max = 20) int w,
                                     @ForAll @IntRange(min = 1, max = 25) int outH, @ForAll @IntRange(min = 1, max = 45) int outW,
                                     @ForAll boolean bilinear, @ForAll boolean alignCorners,
                                     @ForAll @IntRange(min = 1, max = 2) int threads) {
        Upsample2d.Mode mode = bilinear ? Upsample2d.Mode.BILINEAR : Upsample2d.Mode.NEAREST;
        boolean align = bilinear && alignCorners;
        CrossBackend.check(List.of(Shape.of(n, c, h, w)), (b, x) -> List.of(b.upsample(x.getFirst(), mode, outH, outW, align)),
                outH * 53L + outW, opts("pool", threads, Upsample2d.class, Upsample2dBackward.class).withGradients(0));
    }

    // ---------------------------------------------------------------------------------------------- batch norm

    /** Batch statistics: y, mean and variance forward; dx, dgamma, dbeta through BatchNorm2dBackward. */
    @Property(tries = 50)
    void batchNormTrainMatchesTheReference(@ForAll @IntRange(min = 1, max = 3) int n, @ForAll @IntRange(min = 1, max = 5) int c,
                                           @ForAll @IntRange(min = 1, max = 13) int h, @ForAll @IntRange(min = 1, max = 21) int w,
                                           @ForAll @IntRange(min = 1, max = 2) int threads) {
        List<Shape> shapes = List.of(Shape.of(n, c, h, w), Shape.of(c), Shape.of(c));
        CrossBackend.check(shapes, (b, x) -> b.applyAll("bn", new BatchNorm2dTrain(1e-5), x.get(0), x.get(1), x.get(2)),
                n * 97L + h * w, opts("norm", threads, BatchNorm2dTrain.class));
        CrossBackend.check(shapes, (b, x) -> List.of(b.applyAll("bn", new BatchNorm2dTrain(1e-5), x.get(0), x.get(1), x.get(2)).getFirst()),
                n * 97L + h * w + 1, opts("norm", threads, BatchNorm2dTrain.class, BatchNorm2dBackward.class).withGradients(0, 1, 2));
    }

    /** A channel mean far from zero: the statistics and the output must not lose it to cancellation. */
    @Test
    void batchNormTrainKeepsPrecisionWithALargeMean() {
        Shape s = Shape.of(4, 3, 9, 11);
        Tensor x = Tensor.zeros(DType.F32, s);
        Random r = new Random(5);
        for (long i = 0; i < x.size(); i++) x.set(i, (float) (1000 + 0.01 * (r.nextDouble() * 2 - 1)));
        List<Shape> shapes = List.of(s, Shape.of(3), Shape.of(3));
        CrossBackend.check(shapes, (b, xs) -> b.applyAll("bn", new BatchNorm2dTrain(1e-5), xs.get(0), xs.get(1), xs.get(2)),
                5, opts("norm", 1, BatchNorm2dTrain.class).withInput(0, x));
    }

    @Property(tries = 40)
    void batchNormInferMatchesTheReference(@ForAll @IntRange(min = 1, max = 3) int n, @ForAll @IntRange(min = 1, max = 5) int c,
                                           @ForAll @IntRange(min = 1, max = 13) int h, @ForAll @IntRange(min = 1, max = 21) int w,
                                           @ForAll @IntRange(min = 1, max = 2) int threads) {
        List<Shape> shapes = List.of(Shape.of(n, c, h, w), Shape.of(c), Shape.of(c), Shape.of(c), Shape.of(c));
        Tensor var = Tensor.zeros(DType.F32, Shape.of(c));
        for (int i = 0; i < c; i++) var.set(i, 0.25f + 0.5f * i);   // a variance must be positive
        CrossBackend.check(shapes, (b, x) -> List.of(b.apply("bn", new BatchNorm2dInfer(1e-5), x.toArray(Value[]::new))),
                n * 13L + w, opts("norm", threads, BatchNorm2dInfer.class, BatchNorm2dInferBackward.class)
                        .withGradients(0, 1, 2).withInput(4, var));
    }

    // ---------------------------------------------------------------------------------------------- other paths

    /**
     * One op on shapes large enough to be split over two threads (checked): bit-identical to one thread, and the
     * scalar path agrees with the default.
     */
    private static void paths(String tol, List<Shape> shapes, BiFunction<GraphBuilder, List<Value>, Value> f,
                              Map<Integer, Tensor> fixed, Class<?> op) {
        KernelPaths.checkPaths(shapes, (b, v) -> List.of(f.apply(b, v)), 1, fixed, tol, List.of(op),
                out -> out.values().forEach(t -> KernelPaths.assertNotAllZero(t, "output")), POOL);
    }

    @Test
    void poolingPathsAgreeAndThreadsDoNotChangeBits() {
        Shape x = Shape.of(4, 16, 67, 93);
        MaxPool2d max = new MaxPool2d(3, 3, 2, 2, 1, 0, 1, 1, 1, 2, true);
        AvgPool2d avg = new AvgPool2d(3, 2, 2, 1, 1, 1, 0, 1, true, false);
        Shape pooled = max.inferShapes(List.of(x)).getFirst(), avgOut = avg.inferShapes(List.of(x)).getFirst();
        paths("pool", List.of(x), (b, v) -> b.apply("max", max, v.get(0)), Map.of(), MaxPool2d.class);
        paths("pool", List.of(x, pooled), (b, v) -> b.apply("max_grad",
                new MaxPool2dBackward(3, 3, 2, 2, 1, 0, 1, 1, 1, 2, true), v.get(0), v.get(1)), Map.of(), MaxPool2dBackward.class);
        MaxPool2d two = new MaxPool2d(2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false);
        Shape halved = two.inferShapes(List.of(x)).getFirst();
        paths("pool", List.of(x), (b, v) -> b.apply("max2", two, v.get(0)), Map.of(), MaxPool2d.class);
        paths("pool", List.of(x, halved), (b, v) -> b.apply("max2_grad",
                new MaxPool2dBackward(2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false), v.get(0), v.get(1)), Map.of(),
                MaxPool2dBackward.class);
        paths("pool", List.of(x), (b, v) -> b.apply("avg", avg, v.get(0)), Map.of(), AvgPool2d.class);
        paths("pool", List.of(avgOut), (b, v) -> b.apply("avg_grad",
                new AvgPool2dBackward(3, 2, 2, 1, 1, 1, 0, 1, true, false, 67, 93), v.get(0)), Map.of(), AvgPool2dBackward.class);
    }

    @Test
    void resizePathsAgreeAndThreadsDoNotChangeBits() {
        Shape x = Shape.of(4, 8, 41, 57), up = Shape.of(4, 8, 83, 101);
        paths("pool", List.of(Shape.of(8, 16, 75, 83)), (b, v) -> b.adaptiveAvgPool2d(v.get(0), 7, 9), Map.of(),
                AdaptiveAvgPool2d.class);
        paths("pool", List.of(Shape.of(8, 16, 7, 9)), (b, v) -> b.apply("adaptive_grad",
                new AdaptiveAvgPool2dBackward(75, 83), v.get(0)), Map.of(), AdaptiveAvgPool2dBackward.class);
        paths("pool", List.of(x), (b, v) -> b.upsample(v.get(0), Upsample2d.Mode.NEAREST, 83, 101, false), Map.of(),
                Upsample2d.class);
        paths("pool", List.of(x), (b, v) -> b.upsample(v.get(0), Upsample2d.Mode.BILINEAR, 83, 101, true), Map.of(),
                Upsample2d.class);
        paths("pool", List.of(Shape.of(8, 8, 41, 57)), (b, v) -> b.upsample(v.get(0), Upsample2d.Mode.BILINEAR, 30, 70, false),
                Map.of(), Upsample2d.class);
        paths("pool", List.of(up), (b, v) -> b.apply("up_grad",
                new Upsample2dBackward(Upsample2d.Mode.BILINEAR, 41, 57, false), v.get(0)), Map.of(), Upsample2dBackward.class);
        paths("pool", List.of(up), (b, v) -> b.apply("near_grad",
                new Upsample2dBackward(Upsample2d.Mode.NEAREST, 41, 57, false), v.get(0)), Map.of(), Upsample2dBackward.class);
    }

    @Test
    void batchNormPathsAgreeAndThreadsDoNotChangeBits() {
        Shape x = Shape.of(4, 16, 71, 75), ch = Shape.of(16);
        Tensor var = Tensor.zeros(DType.F32, ch);
        for (int i = 0; i < 16; i++) var.set(i, 0.1f + i);
        Map<Integer, Tensor> positiveVar = Map.of(3, var);
        for (int output = 0; output < 3; output++) {
            int k = output;
            paths("norm", List.of(x, ch, ch), (b, v) -> b.applyAll("bn", new BatchNorm2dTrain(1e-5), v.get(0), v.get(1),
                    v.get(2)).get(k), Map.of(), BatchNorm2dTrain.class);
            paths("norm", List.of(x, ch, ch, ch, x), (b, v) -> b.applyAll("bn_grad", new BatchNorm2dBackward(1e-5),
                    v.get(0), v.get(1), v.get(2), v.get(3), v.get(4)).get(k), positiveVar, BatchNorm2dBackward.class);
            paths("norm", List.of(x, ch, ch, ch, x), (b, v) -> b.applyAll("bn_infer_grad", new BatchNorm2dInferBackward(1e-5),
                    v.get(0), v.get(1), v.get(2), v.get(3), v.get(4)).get(k), positiveVar, BatchNorm2dInferBackward.class);
        }
        paths("norm", List.of(x, ch, ch, ch, ch), (b, v) -> b.apply("bn_infer", new BatchNorm2dInfer(1e-5),
                v.toArray(Value[]::new)), Map.of(4, var), BatchNorm2dInfer.class);
    }
}
