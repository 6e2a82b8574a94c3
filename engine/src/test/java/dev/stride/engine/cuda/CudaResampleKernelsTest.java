package dev.stride.engine.cuda;

import dev.stride.engine.Tensor;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.op.InstanceNorm2d;
import dev.stride.graph.op.InstanceNorm2dBackward;
import dev.stride.graph.op.LpPool2d;
import dev.stride.graph.op.LpPool2dBackward;
import dev.stride.graph.op.Lrn;
import dev.stride.graph.op.LrnBackward;
import dev.stride.graph.op.Resize2d;
import dev.stride.graph.op.Resize2dBackward;
import dev.stride.graph.op.Upsample2d;
import dev.stride.graph.op.Upsample2dBackward;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Tag;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AddLifecycleHook;

import java.util.List;
import java.util.Random;

/**
 * The resampling and normalization family on the cuda backend (emulated device here, the GPU with -Pgpu) against the
 * reference: bit for bit against the float32 reference where the arithmetic has no library call, within one float
 * step where it calls pow or sqrt of a non-square, and every gradient through autodiff against the float64 oracle.
 */
@Tag("cuda-kernels")
@AddLifecycleHook(CudaCrossBackend.SkipUnlessUsable.class)
class CudaResampleKernelsTest {
    private static final CudaCrossBackend.Options EXACT = CudaCrossBackend.Options.forward("exact").againstFloat32();
    private static final CudaCrossBackend.Options LIBRARY = CudaCrossBackend.Options.forward("library").againstFloat32();

    private static CudaCrossBackend.Options gradients(Integer... inputs) {
        return CudaCrossBackend.Options.forward("reduction").withGradients(inputs);
    }

    private static Shape image(Random r) {
        return Shape.of(1 + r.nextInt(3), 1 + r.nextInt(4), 1 + r.nextInt(7), 1 + r.nextInt(7));
    }

    private static Shape outputOf(Op op, Shape... in) {
        try {
            return op.inferShapes(List.of(in)).getFirst();
        } catch (ShapeException e) {
            Assume.that(false);
            throw e;
        }
    }

    @Property(tries = 40)
    void upsampling(@ForAll long seed, @ForAll boolean bilinear, @ForAll boolean alignCorners) {
        Random r = new Random(seed);
        Shape x = image(r);
        var mode = bilinear ? Upsample2d.Mode.BILINEAR : Upsample2d.Mode.NEAREST;
        var op = new Upsample2d(mode, 1 + r.nextInt(12), 1 + r.nextInt(12), alignCorners);   // up and down
        Shape y = outputOf(op, x);
        CudaCrossBackend.check(List.of(x), (b, v) -> List.of(b.apply("up", op, v.getFirst())), seed, EXACT);
        var back = new Upsample2dBackward(mode, x.dim(2), x.dim(3), alignCorners);
        CudaCrossBackend.check(List.of(y), (b, v) -> List.of(b.apply("up_grad", back, v.getFirst())), seed, EXACT);
        CudaCrossBackend.check(List.of(x), (b, v) -> List.of(b.apply("up", op, v.getFirst())), seed, gradients(0));
    }

    @Property(tries = 40)
    void resizing(@ForAll long seed, @ForAll boolean linear) {
        Random r = new Random(seed);
        Shape x = image(r);
        var coord = Resize2d.Coord.values()[r.nextInt(Resize2d.Coord.values().length)];
        var nearest = Resize2d.Nearest.values()[r.nextInt(Resize2d.Nearest.values().length)];
        var mode = linear ? Resize2d.Mode.LINEAR : Resize2d.Mode.NEAREST;
        int outH = 1 + r.nextInt(12), outW = 1 + r.nextInt(12);
        var op = new Resize2d(mode, coord, nearest, outH, outW, (double) outH / x.dim(2), (double) outW / x.dim(3));
        Shape y = outputOf(op, x);
        CudaCrossBackend.check(List.of(x), (b, v) -> List.of(b.apply("resize", op, v.getFirst())), seed, EXACT);
        var back = new Resize2dBackward(mode, coord, nearest, x.dim(2), x.dim(3), op.scaleH(), op.scaleW());
        CudaCrossBackend.check(List.of(y), (b, v) -> List.of(b.apply("resize_grad", back, v.getFirst())), seed, EXACT);
        CudaCrossBackend.check(List.of(x), (b, v) -> List.of(b.apply("resize", op, v.getFirst())), seed, gradients(0));
    }

    @Property(tries = 40)
    void lpPooling(@ForAll long seed, @ForAll @IntRange(min = 0, max = 2) int pIndex) {
        Random r = new Random(seed);
        Shape x = image(r);
        double p = new double[] {1, 2, 3}[pIndex];
        int kH = 1 + r.nextInt(3), kW = 1 + r.nextInt(3);
        var op = new LpPool2d(p, kH, kW, 1 + r.nextInt(3), 1 + r.nextInt(3), r.nextInt(kH / 2 + 1), r.nextInt(kW / 2 + 1),
                r.nextInt(kH / 2 + 1), r.nextInt(kW / 2 + 1), 1 + r.nextInt(2), 1 + r.nextInt(2), r.nextBoolean());
        Shape y = outputOf(op, x);
        var back = new LpPool2dBackward(p, op.kH(), op.kW(), op.strideH(), op.strideW(), op.padTop(), op.padLeft(),
                op.padBottom(), op.padRight(), op.dilationH(), op.dilationW(), op.ceilMode());
        CudaCrossBackend.check(List.of(x), (b, v) -> List.of(b.apply("lp", op, v.getFirst())), seed, LIBRARY);
        CudaCrossBackend.check(List.of(x, y, y), (b, v) -> List.of(b.apply("lp_grad", back, v.get(0), v.get(1), v.get(2))),
                seed, LIBRARY);
        CudaCrossBackend.check(List.of(x), (b, v) -> List.of(b.apply("lp", op, v.getFirst())), seed, gradients(0));
    }

    @Property(tries = 30)
    void instanceNorm(@ForAll long seed, @ForAll @IntRange(min = 0, max = 2) int epsIndex) {
        Random r = new Random(seed);
        Shape x = image(r), c = Shape.of(x.dim(1));
        double eps = new double[] {1e-5, 1e-3, 0.1}[epsIndex];
        var op = new InstanceNorm2d(eps);
        CudaCrossBackend.check(List.of(x, c, c), (b, v) -> List.of(b.apply("in", op, v.get(0), v.get(1), v.get(2))),
                seed, EXACT);
        CudaCrossBackend.check(List.of(x, c, x), (b, v) -> b.applyAll("in_grad", new InstanceNorm2dBackward(eps),
                v.get(0), v.get(1), v.get(2)), seed, EXACT);
        // Bit for bit against the float32 reference: against the float64 oracle the input gradient is ill-conditioned
        // when a plane's variance is tiny (CudaPoolKernelsTest's batch norm, likewise).
        CudaCrossBackend.check(List.of(x, c, c), (b, v) -> List.of(b.apply("in", op, v.get(0), v.get(1), v.get(2))),
                seed, EXACT.withGradients(0, 1, 2));
    }

    @Property(tries = 30)
    void localResponseNormalization(@ForAll long seed, @ForAll @IntRange(min = 1, max = 6) int size) {
        Random r = new Random(seed);
        // [N, C, d1, ...] at ranks 3 to 5: LRN runs across channels whatever follows them.
        int[] d = CudaLossKernelsTest.dims(r, 3 + r.nextInt(3), 4);
        d[1] = 1 + r.nextInt(7);
        Shape x = Shape.of(d);
        var op = new Lrn(size, 1e-4 + r.nextDouble(), 0.5 + r.nextDouble(), 0.5 + 2 * r.nextDouble());
        outputOf(op, x);
        CudaCrossBackend.check(List.of(x), (b, v) -> List.of(b.apply("lrn", op, v.getFirst())), seed, LIBRARY);
        var back = new LrnBackward(op.size(), op.alpha(), op.beta(), op.bias());
        CudaCrossBackend.check(List.of(x, x), (b, v) -> List.of(b.apply("lrn_grad", back, v.get(0), v.get(1))), seed,
                LIBRARY);
        CudaCrossBackend.check(List.of(x), (b, v) -> List.of(b.apply("lrn", op, v.getFirst())), seed, gradients(0));
    }

    /**
     * Infinities, NaN and -0 in dy reach the resampling gradients through the zero-weight terms too, as in the
     * reference (each gradient is a gather that adds the same terms in the same order as the reference's scatter).
     */
    @org.junit.jupiter.api.Test
    @org.junit.jupiter.api.Tag("cuda-kernels")
    void resamplingGradientsOfSpecialValues() {
        CudaCrossBackend.assumeUsable();
        Shape dy = Shape.of(1, 1, 3, 5);
        float inf = Float.POSITIVE_INFINITY;
        Tensor t = Tensor.of(dy, 1, inf, 0, -inf, 2, Float.NaN, 1, 1, 0, 0, -0f, 3, inf, 1, 1);
        for (var mode : Upsample2d.Mode.values()) {
            for (boolean align : mode == Upsample2d.Mode.BILINEAR ? new boolean[] {false, true} : new boolean[] {false}) {
                var grad = new Upsample2dBackward(mode, 2, 3, align);
                CudaCrossBackend.check(List.of(dy), (b, v) -> List.of(b.apply("up_grad", grad, v.getFirst())), 2,
                        EXACT.withInput(0, t));
            }
        }
        var grad = new Resize2dBackward(Resize2d.Mode.NEAREST, Resize2d.Coord.ASYMMETRIC,
                Resize2d.Nearest.ROUND_PREFER_CEIL, 2, 3, 1.5, 5 / 3.0);
        CudaCrossBackend.check(List.of(dy), (b, v) -> List.of(b.apply("resize_grad", grad, v.getFirst())), 3,
                EXACT.withInput(0, t));
    }
}
