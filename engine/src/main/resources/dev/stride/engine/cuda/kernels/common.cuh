// Shared by every kernel file of the cuda backend. KernelSources puts this file first in the one translation unit
// it builds from all the .cu files (their `#include "common.cuh"` lines are dropped there), which NVRTC compiles
// for the GPU and g++ compiles, with emulation.h, for the emulated device the tests run on.
//
// The contract of every kernel (see docs/ARCHITECTURE.md, "GPU"):
//   extern "C" __global__ void stride_<name>(...): float32 data, 64-bit sizes (long long);
//   one-dimensional grid-stride loops only (STRIDE_FOR), each output element written by exactly one thread,
//   with any inner loop in a fixed order, so results do not depend on the launch shape;
//   no shared memory, no __syncthreads, no atomics, no warp intrinsics, no fast-math.
// A long reduction with few outputs (batch norm's statistics, a bias gradient, the global gradient norm) takes two
// launches instead of one thread per output: one thread per chunk writes a chunk sum, one per output adds them, in
// the order dev.stride.engine.ChunkedOrder defines for the reference too (reduce.cu).
// Helpers here are __device__ functions named stride_*; a family's own helpers carry its prefix (one unit).
#pragma once

// i runs over [0, n) in steps of the whole grid: the launch shape is the device's choice, never the kernel's.
#define STRIDE_FOR(i, n)                                                                                       \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (long long)(n);                  \
         i += (long long)blockDim.x * gridDim.x)

// The largest rank of the index layouts the kernels take (after the host merged adjacent dimensions).
#define STRIDE_MAX_RANK 16

// ---- Java's Math semantics where C's differ (the reference backend is the definition) ----

// Math.max: NaN if either is NaN; +0 is larger than -0. (C's fmax drops a NaN.)
__device__ __forceinline__ double stride_max(double a, double b) {
    if (a != a) return a;
    if (b != b) return b;
    if (a == 0 && b == 0) return copysign(1.0, a) < 0 ? b : a;
    return a > b ? a : b;
}

// Math.min: NaN if either is NaN; -0 is smaller than +0.
__device__ __forceinline__ double stride_min(double a, double b) {
    if (a != a) return a;
    if (b != b) return b;
    if (a == 0 && b == 0) return copysign(1.0, a) < 0 ? a : b;
    return a < b ? a : b;
}

// Math.signum: NaN stays NaN, zeros keep their sign.
__device__ __forceinline__ double stride_signum(double x) {
    return x != x || x == 0 ? x : copysign(1.0, x);
}

// Math.pow: C's pow(1, NaN) and pow(-1, +-inf) are 1, Java's are NaN; every other special case agrees.
__device__ __forceinline__ double stride_pow(double a, double b) {
    if (b == 0) return 1.0;
    if (b != b) return b;
    if (fabs(a) == 1.0 && fabs(b) > 1.7976931348623157e308) return b - b;  // b infinite; inf - inf: NaN
    return pow(a, b);
}

// 1 / (1 + e^-x), with exp taken of a non-positive number only (UnaryFormulas.sigmoid).
__device__ __forceinline__ double stride_sigmoid(double x) {
    if (x >= 0) return 1 / (1 + exp(-x));
    double e = exp(x);
    return e / (1 + e);
}

// ---- index layouts ----

// The offset, in a tensor with the given strides, of flat index i of a row-major index space with dims[0..rank).
// Dimension 0 needs no division: i < dims[0] * (product of the rest) by construction.
__device__ __forceinline__ long long stride_offset(long long i, int rank, const long long* dims,
                                                   const long long* strides) {
    long long off = 0;
    for (int d = rank - 1; d > 0; d--) {
        long long c = i % dims[d];
        i /= dims[d];
        off += c * strides[d];
    }
    return rank > 0 ? off + i * strides[0] : 0;
}

// ---- chunked sums (dev.stride.engine.ChunkedOrder; reduce.cu) ----

// The chunk of x[b, ch, :] (x is [n, c, hw]) that thread t sums: part[t], t = (ch * n + b) * chunks + k, covers
// [k * chunk, min(hw, (k + 1) * chunk)) of the plane. Returns the plane's first element and sets [from, end).
__device__ __forceinline__ const float* stride_chunk_of(const float* x, long long t, long long n, long long c,
                                                        long long hw, long long chunk, long long chunks,
                                                        long long* from, long long* end, long long* ch) {
    long long k = t % chunks, b = (t / chunks) % n;
    *ch = t / (chunks * n);
    *from = k * chunk;
    *end = *from + chunk < hw ? *from + chunk : hw;
    return x + (b * c + *ch) * hw;
}

// ---- CounterRng (graph/src/main/java/dev/stride/graph/op/CounterRng.java), bit for bit ----
// 64-bit unsigned arithmetic wraps exactly as Java's long; >> on unsigned is Java's >>>.

__device__ __forceinline__ unsigned long long stride_rng_mix(unsigned long long z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// 64 random bits for counter i under key (the key of (seed, step) is computed on the host, once per run).
__device__ __forceinline__ unsigned long long stride_rng_bits(unsigned long long key, long long i) {
    return stride_rng_mix(key + (unsigned long long)(i + 1) * 0x9E3779B97F4A7C15ULL);
}

// Uniform on [0, 1) with 53 random bits: exact in double.
__device__ __forceinline__ double stride_rng_uniform(unsigned long long key, long long i) {
    return (double)(stride_rng_bits(key, i) >> 11) * 1.1102230246251565e-16;  // 2^-53
}

// N(0, 1) for element i: Box-Muller on counters 2i and 2i+1, cosine half; the first uniform on (0, 1].
__device__ __forceinline__ double stride_rng_gaussian(unsigned long long key, long long i) {
    double u1 = (double)((stride_rng_bits(key, 2 * i) >> 11) + 1) * 1.1102230246251565e-16;
    double u2 = stride_rng_uniform(key, 2 * i + 1);
    return sqrt(-2 * log(u1)) * cos(2 * 3.141592653589793 * u2);
}
