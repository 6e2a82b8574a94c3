// The optimizer family (CudaOptimizerKernels): SGD (momentum, Nesterov, weight decay), Adam and AdamW, RMSprop
// (momentum, centered) and the factor of global-norm gradient clipping. The formulas are TrainKernels' to the
// order of operations (PyTorch's), in double from the float inputs, rounded once on store. The learning rate and
// Adam's step count are scalar inputs in device memory, read by every thread, so schedules need no new launch.
#include "common.cuh"

// g' = g + wd p, v' = mu v + g', step = nesterov ? g' + mu v' : v', p' = p - lr step.
extern "C" __global__ void stride_sgd_update(const float* p, const float* v, const float* g, const float* lr,
                                             float* p_out, float* v_out, long long n, double mu, double wd,
                                             int nesterov) {
    STRIDE_FOR(i, n) {
        double pi = p[i], gi = (double)g[i] + wd * pi;
        double vi = mu * (double)v[i] + gi;
        double step = nesterov ? gi + mu * vi : vi;
        v_out[i] = (float)vi;
        p_out[i] = (float)(pi - (double)lr[0] * step);
    }
}

// Adam (decoupled = 0: L2 weight decay folded into g) or AdamW (decoupled = 1: p shrunk by 1 - lr wd first);
// step size lr / (1 - beta1^t) and denominator sqrt(v') / sqrt(1 - beta2^t) + eps, as PyTorch orders them.
extern "C" __global__ void stride_adam_update(const float* p, const float* m, const float* v, const float* g,
                                              const float* lr, const float* t, float* p_out, float* m_out,
                                              float* v_out, long long n, double b1, double b2, double eps, double wd,
                                              int decoupled) {
    STRIDE_FOR(i, n) {
        double rate = lr[0], step = t[0];
        double step_size = rate / (1 - stride_pow(b1, step)), sqrt_bc2 = sqrt(1 - stride_pow(b2, step));
        double shrink = decoupled ? 1 - rate * wd : 1, l2 = decoupled ? 0 : wd;
        double pi = p[i], gi = (double)g[i] + l2 * pi;
        double mi = b1 * (double)m[i] + (1 - b1) * gi;
        double vi = b2 * (double)v[i] + (1 - b2) * gi * gi;
        m_out[i] = (float)mi;
        v_out[i] = (float)vi;
        p_out[i] = (float)(pi * shrink - step_size * mi / (sqrt(vi) / sqrt_bc2 + eps));
    }
}

// RMSprop: g' = g + wd p, s' = alpha s + (1 - alpha) g'^2; centered: a' = alpha a + (1 - alpha) g' and
// d = sqrt(s' - a'^2) + eps, else d = sqrt(s') + eps; with momentum b' = mu b + g'/d and p' = p - lr b', without it
// p' = p - lr g'/d. buf/avg (and their outputs) are read and written only when momentum/centered.
extern "C" __global__ void stride_rmsprop_update(const float* p, const float* sq, const float* buf, const float* avg,
                                                 const float* g, const float* lr, float* p_out, float* sq_out,
                                                 float* buf_out, float* avg_out, long long n, double alpha, double eps,
                                                 double mu, double wd, int momentum, int centered) {
    STRIDE_FOR(i, n) {
        double rate = lr[0];
        double pi = p[i], gi = (double)g[i] + wd * pi;
        double si = alpha * (double)sq[i] + (1 - alpha) * gi * gi;
        sq_out[i] = (float)si;
        double d;
        if (centered) {
            double ai = alpha * (double)avg[i] + (1 - alpha) * gi;
            avg_out[i] = (float)ai;
            d = sqrt(si - ai * ai) + eps;
        } else {
            d = sqrt(si) + eps;
        }
        if (momentum) {
            double bi = mu * (double)buf[i] + gi / d;
            buf_out[i] = (float)bi;
            p_out[i] = (float)(pi - rate * bi);
        } else {
            p_out[i] = (float)(pi - rate * gi / d);
        }
    }
}

// Global-norm clipping in the reference's chunked order (dev.stride.engine.ChunkedOrder), first pass: one thread per
// chunk of every gradient. Gradient g is at address table[g] with table[count + g] elements; its chunks are numbered
// first[g] .. first[g + 1) (first[count] = parts); part[t] = the sum of squares of chunk t.
extern "C" __global__ void stride_global_norm_chunks(const long long* table, int count, const long long* first,
                                                     double* part, long long parts, long long chunk) {
    STRIDE_FOR(t, parts) {
        int lo = 0, hi = count - 1;            // the gradient g with first[g] <= t < first[g + 1]
        while (lo < hi) {
            int mid = (lo + hi + 1) / 2;
            if (first[mid] <= t) lo = mid;
            else hi = mid - 1;
        }
        const float* g = (const float*)table[lo];
        long long n = table[count + lo], from = (t - first[lo]) * chunk, end = from + chunk < n ? from + chunk : n;
        double sq = 0;
        for (long long i = from; i < end; i++) {
            double x = g[i];
            sq += x * x;
        }
        part[t] = sq;
    }
}

// Second pass, one thread: min(1, max_norm / (sqrt(the chunk sums added in order) + eps)).
extern "C" __global__ void stride_global_norm_scale(const double* part, long long parts, float* y, double max_norm,
                                                    double eps) {
    STRIDE_FOR(t, 1) {
        double sq = 0;
        for (long long i = 0; i < parts; i++) sq += part[i];
        y[0] = (float)stride_min(1.0, max_norm / (sqrt(sq) + eps));
    }
}
