// Test-only kernels (EmulatedDeviceTest): one that keeps the grid-stride contract and one that does not.
#include "common.cuh"

extern "C" __global__ void stride_test_iota(float* y, long long n, float scale) {
    STRIDE_FOR(i, n) y[i] = scale * (float)i;
}

// Wrong on purpose: one element per thread, as if the grid always covered n.
extern "C" __global__ void stride_test_iota_no_loop(float* y, long long n, float scale) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = scale * (float)i;
}

extern "C" __global__ void stride_test_args(double* out, int a, long long b, float c, double d, const double* e) {
    STRIDE_FOR(i, 1) {
        out[0] = a;
        out[1] = (double)b;
        out[2] = c;
        out[3] = d;
        out[4] = e[0];
    }
}
