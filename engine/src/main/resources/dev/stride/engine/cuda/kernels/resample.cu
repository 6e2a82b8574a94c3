// The resampling and normalization family (CudaResampleKernels): Upsample2d and Resize2d (nearest and linear) with
// their gradients, Lp pooling with its gradient, instance norm and LRN with their gradients. Same rules and the same
// arithmetic order as the reference kernels (reference/PoolKernels, reference/OnnxKernels), in double.
#include "common.cuh"

// Separable two-tap resampling of every plane: output (oh, ow) reads rows hi0/hi1[oh] with weights hw0/hw1 and
// columns wi0/wi1[ow] with weights ww0/ww1 (nearest: one tap), as PoolKernels.resize.
extern "C" __global__ void stride_resample(const float* x, float* y, long long planes, long long inH, long long inW,
                                           long long outH, long long outW, const long long* hi0, const long long* hi1,
                                           const double* hw0, const double* hw1, const long long* wi0,
                                           const long long* wi1, const double* ww0, const double* ww1, int nearest) {
    STRIDE_FOR(i, planes * outH * outW) {
        long long ow = i % outW, oh = (i / outW) % outH, p = i / (outW * outH);
        const float* r0 = x + p * inH * inW + hi0[oh] * inW;
        const float* r1 = x + p * inH * inW + hi1[oh] * inW;
        if (nearest) {
            y[i] = r0[wi0[ow]];
        } else {
            long long j0 = wi0[ow], j1 = wi1[ow];
            double b0 = ww0[ow], b1 = ww1[ow];
            y[i] = (float)(hw0[oh] * (b0 * r0[j0] + b1 * r0[j1]) + hw1[oh] * (b0 * r1[j0] + b1 * r1[j1]));
        }
    }
}

// The adjoint of a linear map as a gather: dx cell c of every plane = sum over k in [start[c], start[c+1]) of
// weight[k] * dy[out[k]], the terms in the order the reference's scatter adds them (host-built).
extern "C" __global__ void stride_sparse_adjoint(const float* dy, float* dx, long long planes, long long inPlane,
                                                 long long outPlane, const long long* start, const long long* out,
                                                 const double* weight) {
    STRIDE_FOR(i, planes * inPlane) {
        long long p = i / inPlane, c = i % inPlane;
        double acc = 0;
        for (long long k = start[c]; k < start[c + 1]; k++) acc += weight[k] * dy[p * outPlane + out[k]];
        dx[i] = (float)acc;
    }
}

// |x|^p, exact for the common p = 1 and 2 (OnnxKernels.powAbs).
__device__ __forceinline__ double rs_pow_abs(double x, double p) {
    return p == 2 ? x * x : p == 1 ? fabs(x) : stride_pow(fabs(x), p);
}

// Lp pooling over host-built windows (start/cells as pool.cu's): (sum |x|^p)^(1/p).
extern "C" __global__ void stride_pool_lp(const float* x, float* y, long long planes, long long inPlane,
                                          long long outPlane, const long long* start, const long long* cells, double p) {
    STRIDE_FOR(i, planes * outPlane) {
        long long pl = i / outPlane, o = i % outPlane;
        const float* xp = x + pl * inPlane;
        double s = 0;
        for (long long k = start[o]; k < start[o + 1]; k++) s += rs_pow_abs(xp[cells[k]], p);
        y[i] = (float)(p == 2 ? sqrt(s) : p == 1 ? s : stride_pow(s, 1 / p));
    }
}

// dx cell = sum over the windows containing it (increasing) of dy/y^(p-1) * sign(x) |x|^(p-1); a window whose output
// is 0 has no gradient (not differentiable there), as the reference.
extern "C" __global__ void stride_pool_lp_backward(const float* x, const float* y, const float* dy, float* dx,
                                                   long long planes, long long inPlane, long long outPlane,
                                                   const long long* wstart, const long long* win, double p) {
    STRIDE_FOR(i, planes * inPlane) {
        long long pl = i / inPlane, c = i % inPlane;
        double v = x[i], acc = 0;
        for (long long k = wstart[c]; k < wstart[c + 1]; k++) {
            long long o = pl * outPlane + win[k];
            double yv = y[o];
            if (yv == 0) continue;
            double kk = dy[o] / stride_pow(yv, p - 1);
            acc += kk * stride_signum(v) * stride_pow(fabs(v), p - 1);
        }
        dx[i] = (float)acc;
    }
}

// ---- instance norm over planes of m cells; channel = plane % c ----

// Per plane: the mean and 1/sqrt(var + eps) (two passes), and, when withDy, sum(dy) and sum(dy * xhat).
extern "C" __global__ void stride_instance_stats(const float* x, const float* dy, int withDy, double* stats,
                                                 long long planes, long long m, double eps) {
    STRIDE_FOR(p, planes) {
        const float* xp = x + p * m;
        double s = 0;
        for (long long j = 0; j < m; j++) s += xp[j];
        double mean = s / m, q = 0;
        for (long long j = 0; j < m; j++) {
            double d = xp[j] - mean;
            q += d * d;
        }
        double rstd = 1 / sqrt(q / m + eps), sdy = 0, sdyx = 0;
        if (withDy) {
            const float* gp = dy + p * m;
            for (long long j = 0; j < m; j++) {
                double g = gp[j];
                sdy += g;
                sdyx += g * (xp[j] - mean) * rstd;
            }
        }
        stats[4 * p] = mean;
        stats[4 * p + 1] = rstd;
        stats[4 * p + 2] = sdy;
        stats[4 * p + 3] = sdyx;
    }
}

extern "C" __global__ void stride_instance_norm(const float* x, const float* gamma, const float* beta,
                                                const double* stats, float* y, long long planes, long long c,
                                                long long m) {
    STRIDE_FOR(i, planes * m) {
        long long p = i / m, ch = p % c;
        double scale = gamma[ch] * stats[4 * p + 1], shift = beta[ch];
        y[i] = (float)((x[i] - stats[4 * p]) * scale + shift);
    }
}

extern "C" __global__ void stride_instance_norm_dx(const float* x, const float* gamma, const float* dy,
                                                   const double* stats, float* dx, long long planes, long long c,
                                                   long long m) {
    STRIDE_FOR(i, planes * m) {
        long long p = i / m, ch = p % c;
        double mean = stats[4 * p], rstd = stats[4 * p + 1];
        double k = gamma[ch] * rstd / m;
        double xhat = (x[i] - mean) * rstd;
        dx[i] = (float)(k * (m * (double)dy[i] - stats[4 * p + 2] - xhat * stats[4 * p + 3]));
    }
}

// dscale and dbias of channel ch: the planes' sums in plane order.
extern "C" __global__ void stride_instance_norm_params(const double* stats, float* dscale, float* dbias,
                                                       long long planes, long long c) {
    STRIDE_FOR(ch, c) {
        double ds = 0, db = 0;
        for (long long p = ch; p < planes; p += c) {
            ds += stats[4 * p + 3];
            db += stats[4 * p + 2];
        }
        dscale[ch] = (float)ds;
        dbias[ch] = (float)db;
    }
}

// ---- LRN across channels of [n, c, inner] ----

// The divisor base of (sample, channel ch, j): bias + alpha/size * (sum of squares over the channel window).
__device__ __forceinline__ double rs_lrn_base(const float* x, long long s, long long ch, long long j, long long c,
                                              long long inner, int size, int before, double alpha, double bias) {
    long long from = ch - before < 0 ? 0 : ch - before;
    long long to = ch - before + size - 1 > c - 1 ? c - 1 : ch - before + size - 1;
    double sum = 0;
    for (long long w = from; w <= to; w++) {
        double v = x[(s * c + w) * inner + j];
        sum += v * v;
    }
    return bias + alpha / size * sum;
}

extern "C" __global__ void stride_lrn(const float* x, float* y, long long n, long long c, long long inner, int size,
                                      int before, double alpha, double beta, double bias) {
    STRIDE_FOR(i, n * c * inner) {
        long long j = i % inner, ch = (i / inner) % c, s = i / (inner * c);
        double d = rs_lrn_base(x, s, ch, j, c, inner, size, before, alpha, bias);
        y[i] = (float)(x[i] * stride_pow(d, -beta));
    }
}

// LRN gradient, first pass: per element its divisor base d and t = dy * x * d^(-beta-1), in double scratch.
extern "C" __global__ void stride_lrn_backward_terms(const float* x, const float* dy, double* d, double* t, long long n,
                                                     long long c, long long inner, int size, int before, double alpha,
                                                     double beta, double bias) {
    STRIDE_FOR(i, n * c * inner) {
        long long j = i % inner, ch = (i / inner) % c, s = i / (inner * c);
        d[i] = rs_lrn_base(x, s, ch, j, c, inner, size, before, alpha, bias);
        t[i] = (double)dy[i] * x[i] * stride_pow(d[i], -beta - 1);
    }
}

// Second pass: dx = dy * d^-beta - 2 alpha beta / size * x * (sum of t over the windows containing this channel:
// channels ch - (size - 1 - before) .. ch + before).
extern "C" __global__ void stride_lrn_backward(const float* x, const float* dy, const double* d, const double* t,
                                               float* dx, long long n, long long c, long long inner, int size,
                                               int before, double alpha, double beta) {
    STRIDE_FOR(i, n * c * inner) {
        long long j = i % inner, ch = (i / inner) % c, s = i / (inner * c);
        long long hi = size - 1 - before;
        long long from = ch - hi < 0 ? 0 : ch - hi, to = ch + before > c - 1 ? c - 1 : ch + before;
        double acc = 0;
        for (long long w = from; w <= to; w++) acc += t[(s * c + w) * inner + j];
        double k = 2 * alpha * beta / size;
        dx[i] = (float)(dy[i] * stride_pow(d[i], -beta) - k * x[i] * acc);
    }
}
