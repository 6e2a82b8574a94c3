package dev.stride.engine.cuda;

import dev.stride.engine.Backend;
import dev.stride.graph.Shape;
import dev.stride.graph.op.Dense;
import dev.stride.graph.op.MatMul;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AddLifecycleHook;

import java.util.List;

/**
 * The dense family against the reference backend: Dense with and without its bias, and MatMul with every
 * transpose, rank 2 and batched rank 3, which are also Dense's gradients (dy w and dy^T x). On the emulated device
 * the direct kernel (gemm.cu); on a GPU ({@code -Dstride.cuda.device=gpu}) cuBLAS, whose operand mapping
 * {@link RowMajorGemmTest} checks everywhere, and the direct kernel forced by a {@code direct} entry. Skipped, with
 * the reason, where the backend under test cannot run.
 */
@net.jqwik.api.Tag("cuda-kernels")   // jqwik reads its own tags, not JUnit Jupiter's
@AddLifecycleHook(CudaCrossBackend.SkipUnlessUsable.class)
class CudaDenseKernelsTest {
    private static final Backend CUDA = CudaCrossBackend.backend();

    @Property(tries = 40)
    void dense(@ForAll @IntRange(min = 1, max = 9) int n, @ForAll @IntRange(min = 1, max = 40) int k,
               @ForAll @IntRange(min = 1, max = 9) int m, @ForAll boolean bias, @ForAll boolean direct,
               @ForAll long seed) {
        List<Shape> in = bias ? List.of(Shape.of(n, k), Shape.of(m, k), Shape.of(m)) : List.of(Shape.of(n, k), Shape.of(m, k));
        OneNode.check(CUDA, OneNode.forcing(CUDA, direct ? CudaDenseKernels.DIRECT : ""), new Dense(), in, seed, "gemm");
    }

    @Property(tries = 60)
    void matmul(@ForAll @IntRange(min = 0, max = 3) int batch, @ForAll @IntRange(min = 1, max = 8) int m,
                @ForAll @IntRange(min = 1, max = 8) int n, @ForAll @IntRange(min = 1, max = 30) int k,
                @ForAll boolean transA, @ForAll boolean transB, @ForAll boolean direct, @ForAll long seed) {
        Shape a = transA ? Shape.of(k, m) : Shape.of(m, k), b = transB ? Shape.of(n, k) : Shape.of(k, n);
        if (batch > 0) {
            a = Shape.of(batch, a.dim(0), a.dim(1));
            b = Shape.of(batch, b.dim(0), b.dim(1));
        }
        OneNode.check(CUDA, OneNode.forcing(CUDA, direct ? CudaDenseKernels.DIRECT : ""), new MatMul(transA, transB),
                List.of(a, b), seed, "gemm");
    }

    /** Dense's gradients through autodiff: dx and dw are MatMul nodes, db a SumTo (the element-wise family's). */
    @Property(tries = 30)
    void denseGradients(@ForAll @IntRange(min = 1, max = 6) int n, @ForAll @IntRange(min = 1, max = 20) int k,
                        @ForAll @IntRange(min = 1, max = 6) int m, @ForAll long seed) {
        CudaCrossBackend.check(List.of(Shape.of(n, k), Shape.of(m, k), Shape.of(m)),
                (b, xs) -> List.of(b.apply("dense", new Dense(), xs.get(0), xs.get(1), xs.get(2))), seed,
                CudaCrossBackend.Options.forward("gemm").withGradients(0, 1, 2));
    }
}
