// Test-only: does not compile (EmulatedDeviceTest, KernelCompileTest check that the error names this file and line).
#include "common.cuh"

extern "C" __global__ void stride_test_broken(float* y, long long n) { STRIDE_FOR(i, n) y[i] = undefined_name; }
