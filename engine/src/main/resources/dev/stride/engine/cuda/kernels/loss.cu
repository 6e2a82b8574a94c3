// The loss family (CudaLossKernels): softmax and log-softmax along an axis and their gradients, the scalar losses
// (softmax cross-entropy, BCE with logits, MSE, L1, Gaussian KL) and their gradients, the reductions (sum, mean,
// max and max's gradient) and the VAE reparameterisation. Every value is computed in double from the float inputs,
// in the reference kernels' order (TensorKernels, TrainKernels, OnnxKernels), and rounded once on store.
//
// Sums over an axis or a whole tensor run one thread per output with a serial loop in the reference's order; a
// scalar loss is one thread summing everything (per-row terms, where there are rows, come from a kernel of one
// thread per row first). Correct and deterministic first: block reductions can come with a GPU to measure them.
#include "common.cuh"

// NaN without <math.h>'s macro, which NVRTC does not define.
__device__ __forceinline__ double loss_nan() { return nan(""); }

// -infinity, the start of every maximum (Double.NEGATIVE_INFINITY in the reference), from its bits: NVRTC has
// neither HUGE_VAL nor INFINITY nor __builtin_huge_val.
__device__ __forceinline__ double loss_neg_inf() {
    union {
        unsigned long long bits;
        double value;
    } u = {0xFFF0000000000000ULL};
    return u.value;
}

// ---- softmax along an axis: x viewed as [outer, n, inner], position p = (o, j) of outer x inner ----

// The first element of position p's line along the axis.
__device__ __forceinline__ long long loss_line(long long p, long long n, long long inner) {
    return (p / inner) * n * inner + p % inner;
}

// Per position: stats[2p] = the maximum along the axis, stats[2p+1] = the sum of exp(x - max), or its log when
// log_sum (TensorKernels.softmax: max, then the shifted sum, both in axis order).
extern "C" __global__ void stride_softmax_stats(const float* x, double* stats, long long positions, long long n,
                                                long long inner, int log_sum) {
    STRIDE_FOR(p, positions) {
        const float* line = x + loss_line(p, n, inner);
        double m = loss_neg_inf();
        for (long long k = 0; k < n; k++) m = stride_max(m, (double)line[k * inner]);
        double s = 0;
        for (long long k = 0; k < n; k++) s += exp((double)line[k * inner] - m);   // each term <= 1: no overflow
        stats[2 * p] = m;
        stats[2 * p + 1] = log_sum ? log(s) : s;
    }
}

// y = exp(x - max) / sum, or x - max - log(sum) for log-softmax; exp taken again, as the reference does.
extern "C" __global__ void stride_softmax(const float* x, const double* stats, float* y, long long total, long long n,
                                          long long inner, int log_out) {
    STRIDE_FOR(i, total) {
        long long p = (i / (n * inner)) * inner + i % inner;
        double shifted = (double)x[i] - stats[2 * p];
        y[i] = (float)(log_out ? shifted - stats[2 * p + 1] : exp(shifted) / stats[2 * p + 1]);
    }
}

// Per position: sum of dy*y along the axis (softmax), or of dy (log-softmax), in axis order.
extern "C" __global__ void stride_softmax_backward_stats(const float* y, const float* dy, double* stats,
                                                         long long positions, long long n, long long inner, int log_softmax) {
    STRIDE_FOR(p, positions) {
        long long b = loss_line(p, n, inner);
        double s = 0;
        for (long long k = 0; k < n; k++) {
            long long i = b + k * inner;
            s += log_softmax ? (double)dy[i] : (double)dy[i] * (double)y[i];
        }
        stats[p] = s;
    }
}

// Softmax: dx = y (dy - sum(dy y)); log-softmax: dx = dy - exp(y) sum(dy).
extern "C" __global__ void stride_softmax_backward(const float* y, const float* dy, const double* stats, float* dx,
                                                   long long total, long long n, long long inner, int log_softmax) {
    STRIDE_FOR(i, total) {
        double s = stats[(i / (n * inner)) * inner + i % inner];
        double yi = y[i], g = dy[i];
        dx[i] = (float)(log_softmax ? g - exp(yi) * s : yi * (g - s));
    }
}

// ---- softmax cross-entropy: logits [rows, classes], labels [rows] ----

// log(sum_c exp(row[c])), shifted by the row maximum (TrainKernels.logSumExp).
__device__ double loss_log_sum_exp(const float* row, long long count) {
    double m = loss_neg_inf();
    for (long long c = 0; c < count; c++) m = stride_max(m, (double)row[c]);
    double s = 0;
    for (long long c = 0; c < count; c++) s += exp((double)row[c] - m);
    return m + log(s);
}

// The class index of a label, or -1 when it is not an integer in [0, classes). The reference throws there; a
// kernel cannot, so the row's loss and gradient become NaN (see CudaLossKernels).
__device__ __forceinline__ long long loss_label(float label, long long classes) {
    double v = label;
    return v >= 0 && v < (double)classes && v == rint(v) ? (long long)v : -1;
}

// Per row: term[r] = logsumexp(row) - row[label] for the forward pass, or logsumexp(row) alone for the backward
// pass (grad_lse); NaN for a row whose label is not a class index.
extern "C" __global__ void stride_sce_rows(const float* logits, const float* labels, double* term, long long rows,
                                           long long classes, int grad_lse) {
    STRIDE_FOR(r, rows) {
        const float* row = logits + r * classes;
        long long label = loss_label(labels[r], classes);
        double lse = loss_log_sum_exp(row, classes);
        term[r] = label < 0 ? loss_nan() : grad_lse ? lse : lse - (double)row[label];
    }
}

// One thread: the mean of the per-row terms, summed in row order.
extern "C" __global__ void stride_sce_mean(const double* term, float* y, long long rows) {
    STRIDE_FOR(t, 1) {
        double total = 0;
        for (long long r = 0; r < rows; r++) total += term[r];
        y[0] = (float)(total / (double)rows);
    }
}

// dlogits = (softmax - onehot) * dy / rows, from the per-row logsumexp (NaN rows stay NaN).
extern "C" __global__ void stride_sce_backward(const float* logits, const float* labels, const double* lse,
                                               const float* dy, float* dx, long long total, long long rows,
                                               long long classes) {
    STRIDE_FOR(i, total) {
        long long r = i / classes, c = i % classes;
        double k = (double)dy[0] / (double)rows;
        double onehot = c == loss_label(labels[r], classes) ? 1 : 0;
        dx[i] = (float)((exp((double)logits[i] - lse[r]) - onehot) * k);
    }
}

// ---- losses that are means over every element: one thread, element order ----

// Which loss stride_mean_loss computes (CudaLossKernels numbers them the same).
#define LOSS_BCE_WITH_LOGITS 0
#define LOSS_MSE 1
#define LOSS_L1 2
#define LOSS_GAUSSIAN_KL 3

// The terms of the mean losses: BCE with logits (a logits, b targets), MSE, L1, and the Gaussian KL (a mu, b logvar),
// written as TrainKernels writes them.
__device__ __forceinline__ double stride_loss_term(int loss, double x, double u) {
    switch (loss) {
        case LOSS_BCE_WITH_LOGITS: return stride_max(x, 0.0) - x * u + log1p(exp(-fabs(x)));
        case LOSS_MSE: { double e = x - u; return e * e; }
        case LOSS_L1: return fabs(x - u);
        default: return -0.5 * (1 + u - x * x - exp(u));   // LOSS_GAUSSIAN_KL
    }
}

// First pass, in ChunkedOrder: part[k] = the sum of the terms of elements [k * chunk, min(n, (k + 1) * chunk)).
extern "C" __global__ void stride_mean_loss_chunks(const float* a, const float* b, double* part, long long n, int loss,
                                                   long long chunk, long long parts) {
    STRIDE_FOR(k, parts) {
        long long from = k * chunk, end = from + chunk < n ? from + chunk : n;
        double s = 0;
        for (long long i = from; i < end; i++) s += stride_loss_term(loss, a[i], b[i]);
        part[k] = s;
    }
}

// Second pass, one thread: y = (the chunk sums added in order) / divisor (the element count; the batch for the KL).
extern "C" __global__ void stride_mean_loss(const double* part, long long parts, float* y, double divisor) {
    STRIDE_FOR(t, 1) {
        double total = 0;
        for (long long k = 0; k < parts; k++) total += part[k];
        y[0] = (float)(total / divisor);
    }
}

// BCE with logits: dlogits = (sigmoid(x) - t) k and dtargets = -x k, k = dy / n.
extern "C" __global__ void stride_bce_with_logits_backward(const float* x, const float* t, const float* dy, float* dx,
                                                           float* dt, long long n) {
    STRIDE_FOR(i, n) {
        double k = (double)dy[0] / (double)n, xi = x[i];
        dx[i] = (float)((stride_sigmoid(xi) - (double)t[i]) * k);
        dt[i] = (float)(-xi * k);
    }
}

// L1: da = sign(a - b) dy / n (0 where a == b).
extern "C" __global__ void stride_l1_loss_backward(const float* a, const float* b, const float* dy, float* da,
                                                   long long n) {
    STRIDE_FOR(i, n) {
        double k = (double)dy[0] / (double)n;
        da[i] = (float)(stride_signum((double)a[i] - (double)b[i]) * k);
    }
}

// Gaussian KL: dmu = mu dy / batch, dlogvar = (exp(logvar) - 1) / 2 dy / batch.
extern "C" __global__ void stride_gaussian_kl_backward(const float* mu, const float* logvar, const float* dy,
                                                       float* dmu, float* dlogvar, long long n, double batch) {
    STRIDE_FOR(i, n) {
        double k = (double)dy[0] / batch;
        dmu[i] = (float)((double)mu[i] * k);
        dlogvar[i] = (float)(0.5 * (exp((double)logvar[i]) - 1) * k);
    }
}

// ---- the reparameterisation trick ----

// z = mu + exp(logvar / 2) eps and the noise eps itself, eps = N(0, 1) of (key, i) exactly as GaussianNoise draws it.
extern "C" __global__ void stride_reparameterize(const float* mu, const float* logvar, float* z, float* noise,
                                                 long long n, unsigned long long key) {
    STRIDE_FOR(i, n) {
        double e = stride_rng_gaussian(key, i);
        noise[i] = (float)e;
        z[i] = (float)((double)mu[i] + exp(0.5 * (double)logvar[i]) * e);
    }
}

// dlogvar = dz exp(logvar / 2) eps / 2, multiplied in the reference's order.
extern "C" __global__ void stride_reparameterize_backward(const float* logvar, const float* noise, const float* dz,
                                                          float* dlogvar, long long n) {
    STRIDE_FOR(i, n) dlogvar[i] = (float)(0.5 * (double)dz[i] * exp(0.5 * (double)logvar[i]) * (double)noise[i]);
}

// ---- reductions ----
// layout = [kept dims (kr), their strides in x (kr), reduced dims (rr), their strides in x (rr)], IndexLayout.sumTo
// of x to the keepDims shape: output i is kept index i; its inputs are the reduced index space walked row-major,
// which is the order of increasing input index in which the reference accumulates.

#define LOSS_REDUCE_SUM 0
#define LOSS_REDUCE_MEAN 1
#define LOSS_REDUCE_MAX 2

extern "C" __global__ void stride_reduce(const float* x, float* y, long long n_out, long long n_red, int kr, int rr,
                                         const long long* layout, int kind, double count) {
    STRIDE_FOR(i, n_out) {
        long long base = stride_offset(i, kr, layout, layout + kr);
        const long long* red = layout + 2 * kr;
        double acc = kind == LOSS_REDUCE_MAX ? loss_neg_inf() : 0.0;
        for (long long r = 0; r < n_red; r++) {
            double v = x[base + stride_offset(r, rr, red, red + rr)];
            acc = kind == LOSS_REDUCE_MAX ? stride_max(acc, v) : acc + v;
        }
        // The mean divides by the true count: an empty reduced axis gives 0 / 0 = NaN, as the reference.
        y[i] = (float)(kind == LOSS_REDUCE_MEAN ? acc / count : acc);
    }
}

// Per output slot of a max reduction: the input index of its first maximum (strict >, a NaN wins once), or -1
// for an empty slot. Same layout as stride_reduce.
extern "C" __global__ void stride_reduce_argmax(const float* x, long long* arg, long long n_out, long long n_red,
                                                int kr, int rr, const long long* layout) {
    STRIDE_FOR(i, n_out) {
        long long base = stride_offset(i, kr, layout, layout + kr);
        const long long* red = layout + 2 * kr;
        long long best_at = -1;
        double best = 0;
        for (long long r = 0; r < n_red; r++) {
            long long at = base + stride_offset(r, rr, red, red + rr);
            double v = x[at];
            if (best_at < 0 || v > best || (v != v && best == best)) {
                best = v;
                best_at = at;
            }
        }
        arg[i] = best_at;
    }
}

// dx[e] = dy[slot of e] where e is its slot's first maximum, else 0; the slot of input index e is its offset in
// the keepDims output: slots = [x dims (rank), keepDims strides with 0 along reduced axes (rank)], merged as
// IndexLayout.strided merges them.
extern "C" __global__ void stride_reduce_max_backward(const long long* arg, const float* dy, float* dx, long long n,
                                                      int rank, const long long* slots) {
    STRIDE_FOR(e, n) {
        long long s = stride_offset(e, rank, slots, slots + rank);
        dx[e] = arg[s] == e ? dy[s] : 0.0f;
    }
}
