// Long sums in the reference's chunked order (dev.stride.engine.ChunkedOrder), in two passes that keep the kernel
// contract (one writer per element, fixed-order loops, no shared memory or atomics): one thread per chunk of every
// run writes the chunk's sum in double, then one thread per output adds its chunk sums in order. The order depends
// on the shape only, so the totals are the reference's bits, and a GPU gets a thread per chunk instead of one per
// output (a 64-channel batch norm over 32 x 56 x 56 values: 64 threads before, 26,624 now).
#include "common.cuh"

// part[t] = sum of the chunk's x.
extern "C" __global__ void stride_chunk_sums(const float* x, double* part, long long n, long long c, long long hw,
                                             long long chunk, long long chunks) {
    STRIDE_FOR(t, c * n * chunks) {
        long long from, end, ch;
        const float* p = stride_chunk_of(x, t, n, c, hw, chunk, chunks, &from, &end, &ch);
        double s = 0;
        for (long long i = from; i < end; i++) s += p[i];
        part[t] = s;
    }
}

// part[t] = sum of the chunk's (x - mu)^2, mu = sums[ch] / m: a batch norm's second pass.
extern "C" __global__ void stride_chunk_sqdev(const float* x, const double* sums, double m, double* part,
                                              long long n, long long c, long long hw, long long chunk,
                                              long long chunks) {
    STRIDE_FOR(t, c * n * chunks) {
        long long from, end, ch;
        const float* p = stride_chunk_of(x, t, n, c, hw, chunk, chunks, &from, &end, &ch);
        double mu = sums[ch] / m, s = 0;
        for (long long i = from; i < end; i++) {
            double d = p[i] - mu;
            s += d * d;
        }
        part[t] = s;
    }
}

// total[o] = sum over j < per of part[o * per + j], in that order.
extern "C" __global__ void stride_chunk_totals(const double* part, double* total, long long outputs, long long per) {
    STRIDE_FOR(o, outputs) {
        double s = 0;
        for (long long j = 0; j < per; j++) s += part[o * per + j];
        total[o] = s;
    }
}

// The same, rounded to float: a bias gradient.
extern "C" __global__ void stride_chunk_totals_float(const double* part, float* total, long long outputs,
                                                     long long per) {
    STRIDE_FOR(o, outputs) {
        double s = 0;
        for (long long j = 0; j < per; j++) s += part[o * per + j];
        total[o] = (float)s;
    }
}
