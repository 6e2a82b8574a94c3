package dev.stride.engine.cuda;

/**
 * Row-major matrix products expressed as calls of a column-major BLAS (cuBLAS). A row-major matrix X[r][c] read
 * column-major is X^T, so C = op(A) op(B) row-major is C^T = op(B)^T op(A)^T column-major: the same call with the
 * operands swapped, m and n swapped, and each operand's transpose flag kept (op(B)^T read from B's memory is
 * "B as stored, transposed if transB was set"). No data moves.
 *
 * <p>{@link ColumnMajorSgemm} is the BLAS behind the call: cuBLAS on the device ({@link CublasGemm}), a plain Java
 * loop in the test that checks this mapping for random shapes and transposes.
 */
public final class RowMajorGemm {
    private RowMajorGemm() {}

    /**
     * A column-major single-precision GEMM with strided batches, cuBLAS's {@code cublasSgemmStridedBatched}
     * contract: for each p in [0, batch), C_p = alpha op(A_p) op(B_p) + beta C_p, with op(A_p) m x k, op(B_p) k x n,
     * C_p m x n, column j of a matrix X starting at X + j ldx, and X_p = X + p strideX (in elements).
     *
     * @param <P> what addresses a matrix: a device pointer, or a Java array in tests
     */
    public interface ColumnMajorSgemm<P> {
        void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, P a, int lda, long strideA,
                   P b, int ldb, long strideB, float beta, P c, int ldc, long strideC, int batch);
    }

    /**
     * The column-major call computing row-major C[batch][m][n] = alpha op(A) op(B) + beta C, with A stored
     * row-major as [batch][m][k] ([batch][k][m] when transA) and B as [batch][k][n] ([batch][n][k] when transB),
     * each batch entry packed after the previous. The BLAS's first operand is B's memory, its second A's.
     */
    public record Call(boolean transFirst, boolean transSecond, int m, int n, int k, int ldFirst, long strideFirst,
                       int ldSecond, long strideSecond, int ldc, long strideC, int batch) {}

    /** See {@link Call}. */
    public static Call map(boolean transA, boolean transB, int batch, int m, int n, int k) {
        if (batch < 1 || m < 1 || n < 1 || k < 1)
            throw new IllegalArgumentException("GEMM sizes must be >= 1, got batch " + batch + ", " + m + "x" + n + "x" + k);
        // C^T (n x m, leading dimension n) = op(B)^T (n x k) · op(A)^T (k x m).
        // B as stored, read column-major, is B^T: [n][k] row-major when not transposed (ld n), else its transpose
        // must be taken again: B stored [n][k] row-major is a k x n column-major matrix with ld k.
        int ldB = transB ? k : n;
        int ldA = transA ? m : k;
        return new Call(transB, transA, n, m, k, ldB, (long) k * n, ldA, (long) m * k, n, (long) m * n, batch);
    }

    /** Runs row-major C = alpha op(A) op(B) + beta C (batched as in {@link #map}) through a column-major BLAS. */
    public static <P> void gemm(ColumnMajorSgemm<P> blas, boolean transA, boolean transB, int batch, int m, int n,
                                int k, float alpha, P a, P b, float beta, P c) {
        run(blas, map(transA, transB, batch, m, n, k), alpha, a, b, beta, c);
    }

    /** A call {@link #map} prepared (once, when a kernel is bound), on row-major A, B and C. */
    public static <P> void run(ColumnMajorSgemm<P> blas, Call x, float alpha, P a, P b, float beta, P c) {
        blas.sgemm(x.transFirst(), x.transSecond(), x.m(), x.n(), x.k(), alpha, b, x.ldFirst(), x.strideFirst(),
                a, x.ldSecond(), x.strideSecond(), beta, c, x.ldc(), x.strideC(), x.batch());
    }
}
