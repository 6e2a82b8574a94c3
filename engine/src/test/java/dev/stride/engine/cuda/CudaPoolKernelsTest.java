package dev.stride.engine.cuda;

import dev.stride.engine.Tensor;
import dev.stride.graph.DType;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
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
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Tag;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AddLifecycleHook;

import java.util.List;
import java.util.Random;

/**
 * The pooling and batch-norm family on the cuda backend (emulated device here, the GPU with -Pgpu) against the
 * reference: forward and the gradient ops bit for bit against the float32 reference (the kernels sum in the
 * reference's order, in double), and every gradient through autodiff against the float64 oracle.
 */
@Tag("cuda-kernels")
@AddLifecycleHook(CudaCrossBackend.SkipUnlessUsable.class)
class CudaPoolKernelsTest {
    private static final CudaCrossBackend.Options EXACT = CudaCrossBackend.Options.forward("exact").againstFloat32();

    private static CudaCrossBackend.Options gradients(Integer... inputs) {
        return CudaCrossBackend.Options.forward("reduction").withGradients(inputs);
    }

    /** Random window attributes (one-sided padding, stride larger than the kernel, dilation, ceil mode) over x. */
    private record Window(int kH, int kW, int sH, int sW, int pt, int pl, int pb, int pr, int dH, int dW, boolean ceil) {
        static Window random(Random r, boolean dilation) {
            int kH = 1 + r.nextInt(3), kW = 1 + r.nextInt(3);
            return new Window(kH, kW, 1 + r.nextInt(3), 1 + r.nextInt(3), r.nextInt(kH / 2 + 1), r.nextInt(kW / 2 + 1),
                    r.nextInt(kH / 2 + 1), r.nextInt(kW / 2 + 1), dilation ? 1 + r.nextInt(2) : 1,
                    dilation ? 1 + r.nextInt(2) : 1, r.nextBoolean());
        }

        MaxPool2d max() { return new MaxPool2d(kH, kW, sH, sW, pt, pl, pb, pr, dH, dW, ceil); }

        MaxPool2dBackward maxBackward() { return new MaxPool2dBackward(kH, kW, sH, sW, pt, pl, pb, pr, dH, dW, ceil); }

        AvgPool2d avg(boolean countIncludePad) { return new AvgPool2d(kH, kW, sH, sW, pt, pl, pb, pr, ceil, countIncludePad); }
    }

    /** The op's output shape for these inputs, or the sample is skipped when the attributes do not fit them. */
    private static Shape outputOf(Op op, Shape... in) {
        try {
            return op.inferShapes(List.of(in)).getFirst();
        } catch (ShapeException e) {
            Assume.that(false);
            throw e;
        }
    }

    private static Shape image(Random r) {
        return Shape.of(1 + r.nextInt(3), 1 + r.nextInt(3), 1 + r.nextInt(9), 1 + r.nextInt(9));
    }

    /** Small integers: ties for the maximum (the first in row-major order must win). */
    private static Tensor ties(Shape s, Random r) {
        Tensor t = Tensor.zeros(DType.F64, s);
        for (long i = 0; i < t.size(); i++) t.set(i, r.nextInt(3) - 1);
        return t;
    }

    @Property(tries = 40)
    void maxPooling(@ForAll long seed, @ForAll boolean withTies) {
        Random r = new Random(seed);
        Shape x = image(r);
        Window w = Window.random(r, true);
        Shape y = outputOf(w.max(), x);
        var exact = withTies ? EXACT.withInput(0, ties(x, r)) : EXACT;
        CudaCrossBackend.check(List.of(x), (b, v) -> List.of(b.apply("pool", w.max(), v.getFirst())), seed, exact);
        CudaCrossBackend.check(List.of(x, y), (b, v) -> List.of(b.apply("pool_grad", w.maxBackward(), v.get(0), v.get(1))),
                seed, exact);
        CudaCrossBackend.check(List.of(x), (b, v) -> List.of(b.apply("pool", w.max(), v.getFirst())), seed, gradients(0));
    }

    @Property(tries = 40)
    void averagePooling(@ForAll long seed, @ForAll boolean countIncludePad) {
        Random r = new Random(seed);
        Shape x = image(r);
        Window w = Window.random(r, false);
        AvgPool2d op = w.avg(countIncludePad);
        Shape y = outputOf(op, x);
        CudaCrossBackend.check(List.of(x), (b, v) -> List.of(b.apply("pool", op, v.getFirst())), seed, EXACT);
        var back = new AvgPool2dBackward(w.kH(), w.kW(), w.sH(), w.sW(), w.pt(), w.pl(), w.pb(), w.pr(), w.ceil(),
                countIncludePad, x.dim(2), x.dim(3));
        CudaCrossBackend.check(List.of(y), (b, v) -> List.of(b.apply("pool_grad", back, v.getFirst())), seed, EXACT);
        CudaCrossBackend.check(List.of(x), (b, v) -> List.of(b.apply("pool", op, v.getFirst())), seed, gradients(0));
    }

    @Property(tries = 30)
    void adaptiveAveragePooling(@ForAll long seed, @ForAll @IntRange(min = 1, max = 5) int outH,
                                @ForAll @IntRange(min = 1, max = 5) int outW) {
        Random r = new Random(seed);
        Shape x = image(r);
        var op = new AdaptiveAvgPool2d(outH, outW);   // sizes that do not divide, and outputs larger than the input
        Shape y = outputOf(op, x);
        CudaCrossBackend.check(List.of(x), (b, v) -> List.of(b.apply("pool", op, v.getFirst())), seed, EXACT);
        var back = new AdaptiveAvgPool2dBackward(x.dim(2), x.dim(3));
        CudaCrossBackend.check(List.of(y), (b, v) -> List.of(b.apply("pool_grad", back, v.getFirst())), seed, EXACT);
        CudaCrossBackend.check(List.of(x), (b, v) -> List.of(b.apply("pool", op, v.getFirst())), seed, gradients(0));
    }

    @Property(tries = 30)
    void batchNormTrainingAndItsGradients(@ForAll long seed, @ForAll @IntRange(min = 0, max = 2) int epsIndex) {
        Random r = new Random(seed);
        Shape x = image(r), c = Shape.of(x.dim(1));
        double eps = new double[] {1e-5, 1e-3, 0.1}[epsIndex];
        // y, the batch mean and the batch variance, bit for bit.
        CudaCrossBackend.check(List.of(x, c, c), (b, v) -> b.applyAll("bn", new BatchNorm2dTrain(eps), v.get(0), v.get(1),
                v.get(2)), seed, EXACT);
        // The gradient op fed directly: (x, gamma, mean, var, dy) -> (dx, dgamma, dbeta); the variance must be positive.
        Tensor var = Tensor.zeros(DType.F64, c);
        for (long i = 0; i < var.size(); i++) var.set(i, (float) (0.1 + r.nextDouble()));
        CudaCrossBackend.check(List.of(x, c, c, c, x), (b, v) -> b.applyAll("bn_grad", new BatchNorm2dBackward(eps),
                v.get(0), v.get(1), v.get(2), v.get(3), v.get(4)), seed, EXACT.withInput(3, var));
        // Every gradient through autodiff (only y is an output: the statistics carry no gradient), bit for bit against
        // the float32 reference: against the float64 oracle the input gradient is ill-conditioned when a channel's
        // variance is tiny (two nearly equal cells), where float32 inputs to the gradient ops already differ.
        CudaCrossBackend.check(List.of(x, c, c), (b, v) -> List.of(b.applyAll("bn", new BatchNorm2dTrain(eps), v.get(0),
                v.get(1), v.get(2)).getFirst()), seed, EXACT.withGradients(0, 1, 2));
    }

    @Property(tries = 30)
    void batchNormInferenceAndItsGradients(@ForAll long seed) {
        Random r = new Random(seed);
        Shape x = image(r), c = Shape.of(x.dim(1));
        Tensor runningVar = Tensor.zeros(DType.F64, c);
        for (long i = 0; i < runningVar.size(); i++) runningVar.set(i, (float) (0.1 + r.nextDouble()));
        var op = new BatchNorm2dInfer(1e-5);
        CudaCrossBackend.check(List.of(x, c, c, c, c), (b, v) -> List.of(b.apply("bn", op, v.get(0), v.get(1), v.get(2),
                v.get(3), v.get(4))), seed, EXACT.withInput(4, runningVar));
        CudaCrossBackend.check(List.of(x, c, c, c, x), (b, v) -> b.applyAll("bn_grad", new BatchNorm2dInferBackward(1e-5),
                v.get(0), v.get(1), v.get(2), v.get(3), v.get(4)), seed, EXACT.withInput(3, runningVar));
        CudaCrossBackend.check(List.of(x, c, c, c, c), (b, v) -> List.of(b.apply("bn", op, v.get(0), v.get(1), v.get(2),
                v.get(3), v.get(4))), seed, gradients(0, 1, 2).withInput(4, runningVar));
    }

    /** NaN wins a window (it propagates), -infinity never does unless alone, and the gradient goes where it won. */
    @org.junit.jupiter.api.Test
    @org.junit.jupiter.api.Tag("cuda-kernels")
    void maxPoolingPropagatesNaNAndHandlesInfinities() {
        CudaCrossBackend.assumeUsable();
        Shape x = Shape.of(1, 2, 3, 4);
        float nan = Float.NaN, inf = Float.POSITIVE_INFINITY;
        Tensor t = Tensor.of(x, 1, nan, 2, nan, -inf, -inf, -inf, 3, 0, 5, nan, 5,
                -inf, -inf, -inf, -inf, 2, -inf, inf, 1, 0, -0f, 0, -0f);
        MaxPool2d op = new MaxPool2d(2, 2, 1, 1, 1, 0, 0, 1, 1, 1, true);
        var back = new MaxPool2dBackward(2, 2, 1, 1, 1, 0, 0, 1, 1, 1, true);
        Shape y = outputOf(op, x);
        CudaCrossBackend.check(List.of(x), (b, v) -> List.of(b.apply("pool", op, v.getFirst())), 1, EXACT.withInput(0, t));
        CudaCrossBackend.check(List.of(x, y), (b, v) -> List.of(b.apply("pool_grad", back, v.get(0), v.get(1))), 1,
                EXACT.withInput(0, t));
    }
}
