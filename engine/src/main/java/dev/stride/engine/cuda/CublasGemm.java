package dev.stride.engine.cuda;

import dev.stride.cuda.cublas.Cublas;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.stride.engine.cuda.CudaCalls.cublas;

/**
 * cuBLAS as the column-major BLAS of {@link RowMajorGemm}: {@code cublasSgemm_v2} for one product,
 * {@code cublasSgemmStridedBatched} for a batch, enqueued on the handle's stream. Pointers are device pointers.
 * Alpha and beta are passed in host pointer mode (cuBLAS's default, read during the call), from two floats
 * allocated once, so that a call allocates nothing. Float32 math: the handle's default math mode, which does not
 * use TF32 tensor cores for SGEMM.
 */
final class CublasGemm implements RowMajorGemm.ColumnMajorSgemm<MemorySegment> {
    private final MemorySegment handle;
    /** Freed with the kernel that uses this (the frame's kernels have no close). */
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment alpha = arena.allocate(ValueLayout.JAVA_FLOAT);
    private final MemorySegment beta = arena.allocate(ValueLayout.JAVA_FLOAT);

    /** {@code handle}: a cublasHandle_t already bound to the program's stream. */
    CublasGemm(MemorySegment handle) { this.handle = handle; }

    @Override public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, MemorySegment a,
                                int lda, long strideA, MemorySegment b, int ldb, long strideB, float beta,
                                MemorySegment c, int ldc, long strideC, int batch) {
        this.alpha.set(ValueLayout.JAVA_FLOAT, 0, alpha);
        this.beta.set(ValueLayout.JAVA_FLOAT, 0, beta);
        int opA = transA ? Cublas.CUBLAS_OP_T() : Cublas.CUBLAS_OP_N();
        int opB = transB ? Cublas.CUBLAS_OP_T() : Cublas.CUBLAS_OP_N();
        if (batch == 1)
            cublas(Cublas.cublasSgemm_v2(handle, opA, opB, m, n, k, this.alpha, a, lda, b, ldb, this.beta, c, ldc),
                    "cublasSgemm_v2");
        else
            cublas(Cublas.cublasSgemmStridedBatched(handle, opA, opB, m, n, k, this.alpha, a, lda, strideA, b, ldb,
                    strideB, this.beta, c, ldc, strideC, batch), "cublasSgemmStridedBatched");
    }
}
