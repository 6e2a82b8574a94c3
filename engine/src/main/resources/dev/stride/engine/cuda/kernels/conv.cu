// The convolution family's direct kernels: the emulated device's convolutions, and the GPU's wherever cuDNN
// refuses a configuration (CudaConvKernels). One thread per output element, a fixed-order loop over what it sums:
// slow next to cuDNN, exact in what it computes, and the same on the GPU and the host.
//
// Geometry, shared by the three passes of one convolution x[N, C, H, W] * w[O, C/groups, kH, kW] -> y[N, O, Ho, Wo]:
// output (oy, ox) reads input (oy*sh - pt + ky*dh, ox*sw - pl + kx*dw); a read outside [0, H) x [0, W) is padding
// (zero). Only the start padding (pt, pl) appears: the end padding decided Ho and Wo, which the host passes.
// Accumulation in float, as cuDNN's float32 engines do.
#include "common.cuh"

// y[n, o, oy, ox] = bias[o] + sum over c of o's group, ky, kx (in that order) of x * w; the bias only when
// hasBias != 0 (bias then points at any valid buffer: a launch passes no null pointers). relu != 0 applies a fused
// ReLU with Math.max's semantics, as the reference's: -0 becomes +0, NaN stays NaN.
extern "C" __global__ void stride_conv2d_forward(const float* x, const float* w, const float* bias, int hasBias,
                                                 float* y,
                                                 long long N, long long C, long long H, long long W, long long O,
                                                 long long Ho, long long Wo, long long kH, long long kW,
                                                 long long sh, long long sw, long long pt, long long pl,
                                                 long long dh, long long dw, long long groups, int relu) {
    long long cg = C / groups, og = O / groups;
    STRIDE_FOR(i, N * O * Ho * Wo) {
        long long ox = i % Wo, oy = (i / Wo) % Ho, o = (i / (Wo * Ho)) % O, n = i / (Wo * Ho * O);
        long long c0 = (o / og) * cg;
        float acc = 0.0f;
        for (long long cl = 0; cl < cg; cl++) {
            const float* xp = x + (n * C + c0 + cl) * H * W;
            const float* wp = w + (o * cg + cl) * kH * kW;
            for (long long ky = 0; ky < kH; ky++) {
                long long iy = oy * sh - pt + ky * dh;
                if (iy < 0 || iy >= H) continue;
                for (long long kx = 0; kx < kW; kx++) {
                    long long ix = ox * sw - pl + kx * dw;
                    if (ix < 0 || ix >= W) continue;
                    acc += xp[iy * W + ix] * wp[ky * kW + kx];
                }
            }
        }
        if (hasBias != 0) acc += bias[o];
        y[i] = relu != 0 ? (float)stride_max(acc, 0.0) : acc;
    }
}

// dx[n, c, iy, ix] = bias[c] + sum over o of c's group, ky, kx (in that order) of dy[n, o, oy, ox] * w[o, c_local,
// ky, kx] for the (oy, ox) whose window reads (iy, ix) through tap (ky, kx): oy*sh = iy + pt - ky*dh. The data
// gradient of a convolution, and the forward pass of a transposed one (with its bias when hasBias != 0).
extern "C" __global__ void stride_conv2d_backward_data(const float* dy, const float* w, const float* bias, int hasBias,
                                                       float* dx,
                                                       long long N, long long C, long long H, long long W, long long O,
                                                       long long Ho, long long Wo, long long kH, long long kW,
                                                       long long sh, long long sw, long long pt, long long pl,
                                                       long long dh, long long dw, long long groups) {
    long long cg = C / groups, og = O / groups;
    STRIDE_FOR(i, N * C * H * W) {
        long long ix = i % W, iy = (i / W) % H, c = (i / (W * H)) % C, n = i / (W * H * C);
        long long g = c / cg, cl = c - g * cg;
        float acc = 0.0f;
        for (long long ol = 0; ol < og; ol++) {
            long long o = g * og + ol;
            const float* dyp = dy + (n * O + o) * Ho * Wo;
            const float* wp = w + (o * cg + cl) * kH * kW;
            for (long long ky = 0; ky < kH; ky++) {
                long long ty = iy + pt - ky * dh;
                if (ty < 0 || ty % sh != 0) continue;
                long long oy = ty / sh;
                if (oy >= Ho) continue;
                for (long long kx = 0; kx < kW; kx++) {
                    long long tx = ix + pl - kx * dw;
                    if (tx < 0 || tx % sw != 0) continue;
                    long long ox = tx / sw;
                    if (ox >= Wo) continue;
                    acc += dyp[oy * Wo + ox] * wp[ky * kW + kx];
                }
            }
        }
        if (hasBias != 0) acc += bias[c];
        dx[i] = acc;
    }
}

// dw[o, cl, ky, kx] = sum over n, oy, ox (in that order) of dy[n, o, oy, ox] * x[n, c, oy*sh - pt + ky*dh,
// ox*sw - pl + kx*dw], c = the group's first channel + cl.
extern "C" __global__ void stride_conv2d_backward_filter(const float* x, const float* dy, float* dw_,
                                                         long long N, long long C, long long H, long long W,
                                                         long long O, long long Ho, long long Wo, long long kH,
                                                         long long kW, long long sh, long long sw, long long pt,
                                                         long long pl, long long dh, long long dw, long long groups) {
    long long cg = C / groups, og = O / groups;
    STRIDE_FOR(i, O * cg * kH * kW) {
        long long kx = i % kW, ky = (i / kW) % kH, cl = (i / (kW * kH)) % cg, o = i / (kW * kH * cg);
        long long c = (o / og) * cg + cl;
        float acc = 0.0f;
        for (long long n = 0; n < N; n++) {
            const float* xp = x + (n * C + c) * H * W;
            const float* dyp = dy + (n * O + o) * Ho * Wo;
            for (long long oy = 0; oy < Ho; oy++) {
                long long iy = oy * sh - pt + ky * dh;
                if (iy < 0 || iy >= H) continue;
                for (long long ox = 0; ox < Wo; ox++) {
                    long long ix = ox * sw - pl + kx * dw;
                    if (ix < 0 || ix >= W) continue;
                    acc += dyp[oy * Wo + ox] * xp[iy * W + ix];
                }
            }
        }
        dw_[i] = acc;
    }
}

// In place over y[batch, channels, plane], what a convolution's kernel applies after the convolution (the parts a
// cuDNN engine's graph did not): + bias[c] when hasBias != 0, in float as the direct kernel adds it; then, when
// hasBn != 0, a batch norm in inference mode as stride_bn_apply computes it, v * coef[2c] + coef[2c+1] in double
// rounded once (coef from stride_bn_infer_coef); then Math.max(., 0) when relu != 0. A pointer whose flag is 0 is any
// valid buffer, never read (a launch passes no null pointers).
extern "C" __global__ void stride_conv_epilogue(float* y, const float* bias, int hasBias, const double* coef,
                                                int hasBn, long long channels, long long plane, long long total,
                                                int relu) {
    STRIDE_FOR(i, total) {
        long long c = (i / plane) % channels;
        float v = hasBias != 0 ? y[i] + bias[c] : y[i];
        if (hasBn != 0) v = (float)(v * coef[2 * c] + coef[2 * c + 1]);
        y[i] = relu != 0 ? (float)stride_max(v, 0.0) : v;
    }
}
