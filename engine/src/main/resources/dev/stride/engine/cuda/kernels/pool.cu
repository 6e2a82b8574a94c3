// The pooling and batch-norm family (CudaPoolKernels): max, average and adaptive-average pooling with their
// gradients, and batch normalization (training, inference, and both gradients).
//
// Pooling windows are host-built tables shared by every plane: window o of a plane reads the plane cells
// cells[start[o] .. start[o + 1]) in row-major order (the reference's loop order), and input cell i belongs to the
// windows win[wstart[i] .. wstart[i + 1]) in increasing order. A gradient is then a gather over the windows that
// contain a cell, summed in the order the reference's scatter adds them: the same doubles, the same bits.
// Batch norm: its sums over a channel's planes come in the reference's chunked order from reduce.cu's two passes
// (one thread per chunk of a plane, then one per channel), one thread per channel turns them into the statistics in
// double scratch, then one thread per element applies them.
#include "common.cuh"

// The plane offset of window o's maximum: the first in row-major order by strict >, and a NaN wins (it propagates),
// as PoolKernels.argmax.
__device__ __forceinline__ long long pool_argmax(const float* x, const long long* start, const long long* cells,
                                                 long long o) {
    // The reference starts from -infinity with the first cell as the default; starting from the first cell's value
    // picks the same cell in every case (a -infinity or NaN first cell included).
    long long best = cells[start[o]];
    double m = x[best];
    for (long long k = start[o] + 1; k < start[o + 1]; k++) {
        double v = x[cells[k]];
        if (v > m || v != v) { m = v; best = cells[k]; }
    }
    return best;
}

extern "C" __global__ void stride_pool_max(const float* x, float* y, long long planes, long long inPlane,
                                           long long outPlane, const long long* start, const long long* cells) {
    STRIDE_FOR(i, planes * outPlane) {
        long long p = i / outPlane, o = i % outPlane;
        const float* xp = x + p * inPlane;
        y[i] = xp[pool_argmax(xp, start, cells, o)];
    }
}

// dx cell = the sum, over the windows containing it whose maximum it is, of their dy.
extern "C" __global__ void stride_pool_max_backward(const float* x, const float* dy, float* dx, long long planes,
                                                    long long inPlane, long long outPlane, const long long* start,
                                                    const long long* cells, const long long* wstart,
                                                    const long long* win) {
    STRIDE_FOR(i, planes * inPlane) {
        long long p = i / inPlane, c = i % inPlane;
        const float* xp = x + p * inPlane;
        double acc = 0;
        for (long long k = wstart[c]; k < wstart[c + 1]; k++) {
            long long o = win[k];
            if (pool_argmax(xp, start, cells, o) == c) acc += dy[p * outPlane + o];
        }
        dx[i] = (float)acc;
    }
}

// Average over the window's cells, divided by its divisor (count-include-pad or not, adaptive bins: host-built).
extern "C" __global__ void stride_pool_avg(const float* x, float* y, long long planes, long long inPlane,
                                           long long outPlane, const long long* start, const long long* cells,
                                           const double* div) {
    STRIDE_FOR(i, planes * outPlane) {
        long long p = i / outPlane, o = i % outPlane;
        const float* xp = x + p * inPlane;
        double s = 0;
        for (long long k = start[o]; k < start[o + 1]; k++) s += xp[cells[k]];
        y[i] = (float)(s / div[o]);
    }
}

extern "C" __global__ void stride_pool_avg_backward(const float* dy, float* dx, long long planes, long long inPlane,
                                                    long long outPlane, const long long* wstart,
                                                    const long long* win, const double* div) {
    STRIDE_FOR(i, planes * inPlane) {
        long long p = i / inPlane, c = i % inPlane;
        double acc = 0;
        for (long long k = wstart[c]; k < wstart[c + 1]; k++) {
            long long o = win[k];
            acc += dy[p * outPlane + o] / div[o];
        }
        dx[i] = (float)acc;
    }
}

// ---- batch normalization over [n, c, hw] ----

// Training statistics of channel ch from its sums in ChunkedOrder (reduce.cu): sum of x and sum of squared deviations
// from the mean (two passes, as the reference), written as the float outputs mean and var and as the double
// (scale, shift) that stride_bn_apply uses.
extern "C" __global__ void stride_bn_train_finish(const double* sums, const double* sq, const float* gamma,
                                                  const float* beta, float* mean, float* var, double* coef,
                                                  long long c, double m, double eps) {
    STRIDE_FOR(ch, c) {
        double mu = sums[ch] / m, v = sq[ch] / m;
        double scale = gamma[ch] / sqrt(v + eps);
        coef[2 * ch] = scale;
        coef[2 * ch + 1] = beta[ch] - mu * scale;
        mean[ch] = (float)mu;
        var[ch] = (float)v;
    }
}

// Inference: (scale, shift) from the running statistics.
extern "C" __global__ void stride_bn_infer_coef(const float* gamma, const float* beta, const float* rmean,
                                                const float* rvar, double* coef, long long c, double eps) {
    STRIDE_FOR(ch, c) {
        double scale = gamma[ch] / sqrt(rvar[ch] + eps);
        coef[2 * ch] = scale;
        coef[2 * ch + 1] = beta[ch] - rmean[ch] * scale;
    }
}

extern "C" __global__ void stride_bn_apply(const float* x, const double* coef, float* y, long long total, long long c,
                                           long long hw) {
    STRIDE_FOR(i, total) {
        long long ch = (i / hw) % c;
        y[i] = (float)(x[i] * coef[2 * ch] + coef[2 * ch + 1]);
    }
}

// Chunk sums of the gradient, as stride_chunk_sums (reduce.cu) lays them out: part[t] = sum of dy and
// part[c * n * chunks + t] = sum of dy * (x - mu) * inv over chunk t, with inv = 1/sqrt(var + eps) (the batch's
// statistics in training, the running ones in inference).
extern "C" __global__ void stride_bn_grad_chunks(const float* x, const float* mean, const float* var, const float* dy,
                                                 double* part, long long n, long long c, long long hw,
                                                 long long chunk, long long chunks, double eps) {
    long long parts = c * n * chunks;
    STRIDE_FOR(t, parts) {
        long long from, end, ch;
        const float* xp = stride_chunk_of(x, t, n, c, hw, chunk, chunks, &from, &end, &ch);
        const float* gp = dy + (xp - x);
        double mu = mean[ch], inv = 1 / sqrt(var[ch] + eps), sdy = 0, sdyx = 0;
        for (long long i = from; i < end; i++) {
            double g = gp[i];
            sdy += g;
            sdyx += g * (xp[i] - mu) * inv;
        }
        part[t] = sdy;
        part[parts + t] = sdyx;
    }
}

// From the totals of those chunks (totals[ch] = sum(dy) -> dbeta, totals[c + ch] = sum(dy * xhat) -> dgamma):
// stats keeps (mu, inv, sdy, sdyx) in double for the element kernels.
extern "C" __global__ void stride_bn_grad_finish(const float* mean, const float* var, const double* totals,
                                                 float* dgamma, float* dbeta, double* stats, long long c, double eps) {
    STRIDE_FOR(ch, c) {
        double sdy = totals[ch], sdyx = totals[c + ch];
        stats[4 * ch] = mean[ch];
        stats[4 * ch + 1] = 1 / sqrt(var[ch] + eps);
        stats[4 * ch + 2] = sdy;
        stats[4 * ch + 3] = sdyx;
        dgamma[ch] = (float)sdyx;
        dbeta[ch] = (float)sdy;
    }
}

// Training: dx = gamma * inv / m * (m * dy - sum(dy) - xhat * sum(dy * xhat)), m = n * hw.
extern "C" __global__ void stride_bn_train_dx(const float* x, const float* gamma, const float* dy,
                                              const double* stats, float* dx, long long n, long long c, long long hw) {
    STRIDE_FOR(i, n * c * hw) {
        long long ch = (i / hw) % c;
        double m = (double)(n * hw), mu = stats[4 * ch], inv = stats[4 * ch + 1];
        double k = gamma[ch] * inv / m;
        double xhat = (x[i] - mu) * inv;
        dx[i] = (float)(k * (m * dy[i] - stats[4 * ch + 2] - xhat * stats[4 * ch + 3]));
    }
}

// Inference: the statistics are constants, so dx = dy * gamma * inv.
extern "C" __global__ void stride_bn_infer_dx(const float* gamma, const float* dy, const double* stats, float* dx,
                                              long long total, long long c, long long hw) {
    STRIDE_FOR(i, total) {
        long long ch = (i / hw) % c;
        dx[i] = (float)(dy[i] * (gamma[ch] * stats[4 * ch + 1]));
    }
}
