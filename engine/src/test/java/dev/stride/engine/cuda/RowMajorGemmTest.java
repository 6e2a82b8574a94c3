package dev.stride.engine.cuda;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The row-major to column-major mapping that the cuBLAS kernels use, checked without a GPU: the same call goes to
 * a plain column-major SGEMM written from the BLAS definition (strided batches as cublasSgemmStridedBatched), and
 * the result must equal the row-major product computed from its own definition.
 */
class RowMajorGemmTest {
    /** Column-major BLAS semantics, straight from the reference definition: X(i, j) = X[off + i + j ld]. */
    static final class JavaColumnMajor implements RowMajorGemm.ColumnMajorSgemm<float[]> {
        int calls;

        @Override public void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a,
                                    int lda, long strideA, float[] b, int ldb, long strideB, float beta, float[] c,
                                    int ldc, long strideC, int batch) {
            calls++;
            // The BLAS argument rules cuBLAS enforces (CUBLAS_STATUS_INVALID_VALUE otherwise).
            if (lda < Math.max(1, transA ? k : m) || ldb < Math.max(1, transB ? n : k) || ldc < Math.max(1, m))
                throw new IllegalArgumentException("leading dimension too small: lda " + lda + " ldb " + ldb + " ldc " + ldc);
            for (int p = 0; p < batch; p++) {
                int oa = (int) (p * strideA), ob = (int) (p * strideB), oc = (int) (p * strideC);
                for (int j = 0; j < n; j++)
                    for (int i = 0; i < m; i++) {
                        double s = 0;
                        for (int l = 0; l < k; l++) {
                            float av = transA ? a[oa + l + i * lda] : a[oa + i + l * lda];
                            float bv = transB ? b[ob + j + l * ldb] : b[ob + l + j * ldb];
                            s += (double) av * bv;
                        }
                        int ci = oc + i + j * ldc;
                        c[ci] = (float) (alpha * s + (beta == 0 ? 0 : beta * c[ci]));
                    }
            }
        }
    }

    private static float[] random(int n, SplittableRandom r) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
        return v;
    }

    @Property(tries = 200)
    void rowMajorProductThroughAColumnMajorBlas(@ForAll @IntRange(min = 1, max = 3) int batch,
                                                @ForAll @IntRange(min = 1, max = 9) int m,
                                                @ForAll @IntRange(min = 1, max = 9) int n,
                                                @ForAll @IntRange(min = 1, max = 9) int k,
                                                @ForAll boolean transA, @ForAll boolean transB,
                                                @ForAll boolean accumulate, @ForAll long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = random(batch * m * k, r), b = random(batch * k * n, r), c0 = random(batch * m * n, r);
        float alpha = accumulate ? 0.5f : 1f, beta = accumulate ? 2f : 0f;
        float[] c = c0.clone();
        var blas = new JavaColumnMajor();
        RowMajorGemm.gemm(blas, transA, transB, batch, m, n, k, alpha, a, b, beta, c);
        assertEquals(1, blas.calls);
        for (int p = 0; p < batch; p++)
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int l = 0; l < k; l++) {
                        // Row-major definitions: A [m][k] or, transposed, [k][m]; B [k][n] or [n][k].
                        float av = transA ? a[p * m * k + l * m + i] : a[p * m * k + i * k + l];
                        float bv = transB ? b[p * k * n + j * k + l] : b[p * k * n + l * n + j];
                        s += (double) av * bv;
                    }
                    int at = p * m * n + i * n + j;
                    double want = alpha * s + beta * c0[at];
                    assertEquals(want, c[at], 1e-5 * (1 + Math.abs(want)),
                            "C[" + p + "][" + i + "][" + j + "] of " + batch + "x" + m + "x" + n + "x" + k
                                    + " transA=" + transA + " transB=" + transB);
                }
    }

    /** The ld of each operand is the length of its stored row: what makes the swap valid without copying. */
    @Test
    void leadingDimensionsAreTheStoredRowLengths() {
        var call = RowMajorGemm.map(false, false, 1, 2, 3, 4);   // A [2][4], B [4][3], C [2][3]
        assertEquals(new RowMajorGemm.Call(false, false, 3, 2, 4, 3, 12, 4, 8, 3, 6, 1), call);
        var t = RowMajorGemm.map(true, true, 5, 2, 3, 4);        // A [4][2], B [3][4]
        assertEquals(new RowMajorGemm.Call(true, true, 3, 2, 4, 4, 12, 2, 8, 3, 6, 5), t);
    }

    @Test
    void emptySizesAreRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> RowMajorGemm.map(false, false, 1, 0, 3, 4));
        assertEquals("GEMM sizes must be >= 1, got batch 1, 0x3x4", e.getMessage());
    }
}
