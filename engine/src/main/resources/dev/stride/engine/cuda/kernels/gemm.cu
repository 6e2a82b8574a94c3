// The dense family's direct kernels: the emulated device's matrix products (Dense, MatMul and their gradients),
// and the GPU's fallback where cuBLAS is not used (CudaDenseKernels). Row-major, one thread per output element,
// the inner product in a fixed order (l = 0 .. k-1), accumulated in float.
#include "common.cuh"

// c[p][i][j] = sum_l op(a)[p][i][l] * op(b)[p][l][j] (+ bias[j] when hasBias != 0; bias then points at any valid
// buffer: a launch passes no null pointers), for p < batch, i < m, j < n.
// a is stored [batch][m][k] row-major, or [batch][k][m] when transA != 0; b is [batch][k][n], or [batch][n][k] when
// transB != 0. Dense is x [N, K] times w [M, K] transposed, plus its bias: transB = 1.
extern "C" __global__ void stride_gemm(const float* a, const float* b, const float* bias, int hasBias, float* c,
                                       long long batch, long long m, long long n, long long k, int transA, int transB) {
    // Distances between consecutive l along a row of op(a) and down a column of op(b).
    long long aStep = transA != 0 ? m : 1, bStep = transB != 0 ? 1 : n;
    STRIDE_FOR(idx, batch * m * n) {
        long long j = idx % n, i = (idx / n) % m, p = idx / (n * m);
        const float* ap = a + p * m * k + (transA != 0 ? i : i * k);
        const float* bp = b + p * k * n + (transB != 0 ? j * k : j);
        float acc = 0.0f;
        for (long long l = 0; l < k; l++) acc += ap[l * aStep] * bp[l * bStep];
        if (hasBias != 0) acc += bias[j];
        c[idx] = acc;
    }
}

// y[i][j] = bias[j] for i < rows: the starting value of a cuBLAS product that adds to it (beta = 1).
extern "C" __global__ void stride_gemm_bias_rows(const float* bias, float* y, long long rows, long long cols) {
    STRIDE_FOR(idx, rows * cols) y[idx] = bias[idx % cols];
}
