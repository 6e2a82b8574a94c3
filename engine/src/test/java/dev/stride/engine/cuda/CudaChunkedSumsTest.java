package dev.stride.engine.cuda;

import dev.stride.engine.ChunkedOrder;
import dev.stride.engine.Tensor;
import dev.stride.graph.DType;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.BatchNorm2dBackward;
import dev.stride.graph.op.BatchNorm2dInferBackward;
import dev.stride.graph.op.BatchNorm2dTrain;
import dev.stride.graph.op.BceWithLogits;
import dev.stride.graph.op.BiasGrad;
import dev.stride.graph.op.GaussianKl;
import dev.stride.graph.op.L1Loss;
import dev.stride.graph.op.MseLoss;
import dev.stride.graph.op.GlobalNormScale;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Tag;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The long sums of the cuda backend (reduce.cu: one thread per chunk, then one per output) against the float32
 * reference, bit for bit, on runs long enough to span several {@link ChunkedOrder#CHUNK chunks}, exactly one, and one
 * plus a partial chunk: batch norm's statistics and gradient sums, a convolution's bias gradient, the global
 * gradient norm and the element-wise losses. Both follow {@link ChunkedOrder}, so every double sum is the same and
 * rounds to the same float.
 */
@Tag("cuda-kernels")
@AddLifecycleHook(CudaCrossBackend.SkipUnlessUsable.class)
class CudaChunkedSumsTest {
    private static final CudaCrossBackend.Options EXACT = CudaCrossBackend.Options.forward("exact").againstFloat32();

    /** A plane size around the chunk boundaries: below one chunk, exactly k chunks, k chunks and a bit, or more. */
    private static int runLength(Random r) {
        int chunk = ChunkedOrder.CHUNK;
        return switch (r.nextInt(4)) {
            case 0 -> 1 + r.nextInt(chunk - 1);
            case 1 -> chunk * (1 + r.nextInt(3));
            case 2 -> chunk * (1 + r.nextInt(2)) + 1 + r.nextInt(7);
            default -> 1 + r.nextInt(3 * chunk);
        };
    }

    /** [n, c, h, w] with h * w = a run length, h a divisor of it. */
    private static Shape image(Random r) {
        int hw = runLength(r), h = 1;
        for (int d = (int) Math.sqrt(hw); d >= 1; d--) if (hw % d == 0) { h = d; break; }
        return Shape.of(1 + r.nextInt(3), 1 + r.nextInt(3), h, hw / h);
    }

    private static Tensor positive(Shape c, Random r) {
        Tensor t = Tensor.zeros(DType.F64, c);
        for (long i = 0; i < t.size(); i++) t.set(i, (float) (0.1 + r.nextDouble()));
        return t;
    }

    @Property(tries = 40)
    void batchNormStatisticsAndGradientSums(@ForAll long seed) {
        Random r = new Random(seed);
        Shape x = image(r), c = Shape.of(x.dim(1));
        CudaCrossBackend.check(List.of(x, c, c), (b, v) -> b.applyAll("bn", new BatchNorm2dTrain(1e-5), v.get(0),
                v.get(1), v.get(2)), seed, EXACT);
        Tensor var = positive(c, r);
        CudaCrossBackend.check(List.of(x, c, c, c, x), (b, v) -> b.applyAll("bn_grad", new BatchNorm2dBackward(1e-5),
                v.get(0), v.get(1), v.get(2), v.get(3), v.get(4)), seed, EXACT.withInput(3, var));
        CudaCrossBackend.check(List.of(x, c, c, c, x), (b, v) -> b.applyAll("bn_grad", new BatchNorm2dInferBackward(1e-5),
                v.get(0), v.get(1), v.get(2), v.get(3), v.get(4)), seed, EXACT.withInput(3, var));
    }

    @Property(tries = 40)
    void biasGradient(@ForAll long seed) {
        Random r = new Random(seed);
        CudaCrossBackend.check(List.of(image(r)), (b, v) -> List.of(b.apply("db", new BiasGrad(), v.getFirst())), seed,
                EXACT);
    }

    @Property(tries = 40)
    void globalGradientNorm(@ForAll long seed) {
        Random r = new Random(seed);
        List<Shape> gradients = new ArrayList<>();
        for (int k = 0, count = 1 + r.nextInt(4); k < count; k++)
            gradients.add(r.nextInt(5) == 0 ? Shape.of(0) : Shape.of(runLength(r)));
        double maxNorm = r.nextBoolean() ? 0.5 : 1e4;
        CudaCrossBackend.check(gradients, (b, g) -> List.of(b.apply("clip", new GlobalNormScale(maxNorm),
                g.toArray(Value[]::new))), seed, EXACT);
    }

    /** The element-wise losses: exact for MSE and L1; BCE and the KL call exp and log1p ("library"). */
    @Property(tries = 40)
    void meanLosses(@ForAll long seed) {
        Random r = new Random(seed);
        Shape s = Shape.of(1 + r.nextInt(2), runLength(r));
        CudaCrossBackend.check(List.of(s, s), (b, v) -> List.of(b.apply("mse", new MseLoss(), v.get(0), v.get(1)),
                b.apply("l1", new L1Loss(), v.get(0), v.get(1))), seed, EXACT);
        CudaCrossBackend.check(List.of(s, s), (b, v) -> List.of(b.apply("bce", new BceWithLogits(), v.get(0), v.get(1)),
                b.apply("kl", new GaussianKl(), v.get(0), v.get(1))), seed,
                CudaCrossBackend.Options.forward("library").againstFloat32());
    }

    @Test
    @org.junit.jupiter.api.Tag("cuda-kernels")
    void chunkCountsCoverEveryRun() {
        int chunk = ChunkedOrder.CHUNK;
        assertEquals(List.of(1L, 1L, 1L, 2L, 3L), List.of(ChunkedOrder.chunks(0), ChunkedOrder.chunks(1),
                ChunkedOrder.chunks(chunk), ChunkedOrder.chunks(chunk + 1), ChunkedOrder.chunks(3L * chunk)));
    }
}
