// The element-wise family (CudaElementwiseKernels): unary functions and their gradients, broadcasting binary
// arithmetic and its POW/MAX/MIN gradients, affine maps, fills, broadcasts and their adjoint sums, clip, PReLU,
// and the counter-based random ops. Every value is computed in double from the float inputs and rounded once on
// store, as the reference kernels compute (Buf): the results are the float reference's, up to the last-bit
// differences of exp/log/tanh between libraries. These kernels are memory-bound; double arithmetic costs nothing
// measurable on the data-center GPUs Stride targets.
#include "common.cuh"

// Unary.Fn, as CudaElementwiseKernels.unaryCode numbers them.
#define STRIDE_RELU 0
#define STRIDE_LEAKY_RELU 1
#define STRIDE_ELU 2
#define STRIDE_SIGMOID 3
#define STRIDE_TANH 4
#define STRIDE_SOFTPLUS 5
#define STRIDE_EXP 6
#define STRIDE_LOG 7
#define STRIDE_SQRT 8
#define STRIDE_SQUARE 9
#define STRIDE_ABS 10
#define STRIDE_NEG 11
#define STRIDE_SIGN 12
#define STRIDE_SELU 13
#define STRIDE_HARD_SIGMOID 14
#define STRIDE_HARD_SWISH 15

// UnaryFormulas.unary. a, b: the op's alpha and beta.
__device__ __forceinline__ double ew_unary(int fn, double a, double b, double x) {
    switch (fn) {
        case STRIDE_RELU: return stride_max(x, 0.0);
        case STRIDE_LEAKY_RELU: return x > 0 ? x : a * x;
        case STRIDE_ELU: return x > 0 ? x : a * expm1(x);
        case STRIDE_SIGMOID: return stride_sigmoid(x);
        case STRIDE_TANH: return tanh(x);
        case STRIDE_SOFTPLUS: return log1p(exp(-fabs(x))) + stride_max(x, 0.0);
        case STRIDE_EXP: return exp(x);
        case STRIDE_LOG: return log(x);
        case STRIDE_SQRT: return sqrt(x);
        case STRIDE_SQUARE: return x * x;
        case STRIDE_ABS: return fabs(x);
        case STRIDE_NEG: return -x;
        case STRIDE_SIGN: return stride_signum(x);
        case STRIDE_SELU: return x > 0 ? b * x : b * a * expm1(x);
        case STRIDE_HARD_SIGMOID: return stride_max(0.0, stride_min(1.0, a * x + b));
        case STRIDE_HARD_SWISH: return x * stride_max(0.0, stride_min(1.0, x / 6 + 0.5));
        default: return x;  // unreachable: CudaElementwiseKernels maps every Unary.Fn
    }
}

// UnaryFormulas.unaryGrad: dy * f'(x), from x or y = f(x).
__device__ __forceinline__ double ew_unary_grad(int fn, double a, double b, double x, double y, double dy) {
    switch (fn) {
        case STRIDE_RELU: return x > 0 ? dy : 0.0;
        case STRIDE_LEAKY_RELU: return x > 0 ? dy : a * dy;
        case STRIDE_ELU: return x > 0 ? dy : dy * (y + a);
        case STRIDE_SIGMOID: return dy * y * (1 - y);
        case STRIDE_TANH: return dy * (1 - y * y);
        case STRIDE_SOFTPLUS: return dy * stride_sigmoid(x);
        case STRIDE_EXP: return dy * y;
        case STRIDE_LOG: return dy / x;
        case STRIDE_SQRT: return dy / (2 * y);
        case STRIDE_SQUARE: return 2 * x * dy;
        case STRIDE_ABS: return stride_signum(x) * dy;
        case STRIDE_NEG: return -dy;
        case STRIDE_SIGN: return 0.0;
        case STRIDE_SELU: return x > 0 ? b * dy : dy * (y + b * a);
        case STRIDE_HARD_SIGMOID: {
            double v = a * x + b;
            return v > 0 && v < 1 ? a * dy : 0.0;
        }
        case STRIDE_HARD_SWISH: return x < -3 ? 0.0 : x <= 3 ? dy * (x / 3 + 0.5) : dy;
        default: return 0.0;  // unreachable, as above
    }
}

extern "C" __global__ void stride_unary(const float* x, float* y, long long n, int fn, double a, double b) {
    STRIDE_FOR(i, n) y[i] = (float)ew_unary(fn, a, b, (double)x[i]);
}

extern "C" __global__ void stride_unary_backward(const float* x, const float* y, const float* dy, float* dx,
                                                 long long n, int fn, double a, double b) {
    STRIDE_FOR(i, n) dx[i] = (float)ew_unary_grad(fn, a, b, (double)x[i], (double)y[i], (double)dy[i]);
}

// ---- broadcasting: index layouts built on the host (CudaElementwiseKernels.Layout), adjacent dimensions merged.
// layout = [dims[rank], strides of operand 0[rank], strides of operand 1[rank], ...]; a broadcast dimension has
// stride 0.

// Binary.Kind, as CudaElementwiseKernels numbers them.
#define STRIDE_ADD 0
#define STRIDE_SUB 1
#define STRIDE_MUL 2
#define STRIDE_DIV 3
#define STRIDE_POW 4
#define STRIDE_MAX 5
#define STRIDE_MIN 6

__device__ __forceinline__ double ew_binary(int op, double a, double b) {
    switch (op) {
        case STRIDE_ADD: return a + b;
        case STRIDE_SUB: return a - b;
        case STRIDE_MUL: return a * b;
        case STRIDE_DIV: return a / b;
        case STRIDE_POW: return stride_pow(a, b);
        case STRIDE_MAX: return stride_max(a, b);
        case STRIDE_MIN: return stride_min(a, b);
        default: return a;  // unreachable: CudaElementwiseKernels maps every Binary.Kind
    }
}

// y = a op b with NumPy broadcasting; n = y's size.
extern "C" __global__ void stride_binary(const float* a, const float* b, float* y, long long n, int op, int rank,
                                         const long long* layout) {
    const long long* dims = layout;
    STRIDE_FOR(i, n) {
        double va = a[stride_offset(i, rank, dims, layout + rank)];
        double vb = b[stride_offset(i, rank, dims, layout + 2 * rank)];
        y[i] = (float)ew_binary(op, va, vb);
    }
}

// BinaryBackward: da, db of dy's shape (n elements) for POW, MAX and MIN (the reference's OnnxKernels).
extern "C" __global__ void stride_binary_backward(const float* a, const float* b, const float* dy, float* da,
                                                  float* db, long long n, int op, int rank, const long long* layout) {
    const long long* dims = layout;
    STRIDE_FOR(i, n) {
        double va = a[stride_offset(i, rank, dims, layout + rank)];
        double vb = b[stride_offset(i, rank, dims, layout + 2 * rank)];
        double g = dy[i];
        if (op == STRIDE_POW) {
            da[i] = (float)(vb == 0 ? 0.0 : g * vb * stride_pow(va, vb - 1));
            db[i] = (float)(va == 0 && vb >= 0 ? 0.0 : g * stride_pow(va, vb) * log(va));
        } else {
            bool toA = op == STRIDE_MAX ? va >= vb : va <= vb;  // ties go to a; NaN goes to b
            da[i] = (float)(toA ? g : 0.0);
            db[i] = (float)(toA ? 0.0 : g);
        }
    }
}

// y = x broadcast to y's shape (BroadcastTo; BiasBroadcast as x[C] laid out [1, C, 1...]).
extern "C" __global__ void stride_broadcast(const float* x, float* y, long long n, int rank, const long long* layout) {
    STRIDE_FOR(i, n) y[i] = x[stride_offset(i, rank, layout, layout + rank)];
}

// SumTo: one thread per output element, its input elements summed in double in increasing input index, as the
// reference does. layout = [kept dims[kr], their input strides[kr], reduced dims[rr], their input strides[rr]];
// the output is row-major over the kept dimensions; nRed = product of the reduced dimensions.
extern "C" __global__ void stride_sum_to(const float* x, float* y, long long nOut, long long nRed, int kr, int rr,
                                         const long long* layout) {
    const long long* rdims = layout + 2 * kr;
    const long long* rstrides = rdims + rr;
    long long last = rr > 0 ? rdims[rr - 1] : 1, lastStride = rr > 0 ? rstrides[rr - 1] : 0;
    long long rows = rr > 0 ? nRed / last : 1;
    STRIDE_FOR(o, nOut) {
        long long base = stride_offset(o, kr, layout, layout + kr);
        double acc = 0;
        for (long long r = 0; r < rows; r++) {
            const float* row = x + base + stride_offset(r, rr - 1, rdims, rstrides);
            for (long long k = 0; k < last; k++) acc += row[k * lastStride];
        }
        y[o] = (float)acc;
    }
}

// BiasGrad: reduce.cu's stride_chunk_sums and stride_chunk_totals_float, in the reference's chunked order.

// ---- element by element ----

extern "C" __global__ void stride_affine(const float* x, float* y, long long n, double scale, double shift) {
    STRIDE_FOR(i, n) y[i] = (float)(scale * (double)x[i] + shift);
}

extern "C" __global__ void stride_fill(float* y, long long n, float value) {
    STRIDE_FOR(i, n) y[i] = value;
}

// Clip: min(max(x, lo), hi) with Java's NaN rules (NaN stays NaN); either bound may be infinite.
extern "C" __global__ void stride_clip(const float* x, float* y, long long n, double lo, double hi) {
    STRIDE_FOR(i, n) y[i] = (float)stride_min(stride_max((double)x[i], lo), hi);
}

// ClipBackward: dy where lo < x < hi, 0 on and beyond the bounds (and for NaN).
extern "C" __global__ void stride_clip_backward(const float* x, const float* dy, float* dx, long long n, double lo,
                                                double hi) {
    STRIDE_FOR(i, n) {
        double v = x[i];
        dx[i] = lo < v && v < hi ? dy[i] : 0.0f;
    }
}

// PRelu: x viewed as [outer, channels, inner], one slope per channel (channels = 1: one shared slope).
extern "C" __global__ void stride_prelu(const float* x, const float* slope, float* y, long long n, long long channels,
                                        long long inner) {
    STRIDE_FOR(i, n) {
        double v = x[i];
        y[i] = (float)(v > 0 ? v : (double)slope[(i / inner) % channels] * v);
    }
}

extern "C" __global__ void stride_prelu_backward_dx(const float* x, const float* slope, const float* dy, float* dx,
                                                    long long n, long long channels, long long inner) {
    STRIDE_FOR(i, n) {
        double g = dy[i];
        dx[i] = (float)(x[i] > 0 ? g : (double)slope[(i / inner) % channels] * g);
    }
}

// dslope[c] = sum of x * dy over the elements of channel c with x <= 0 (or NaN), per outer index then summed.
extern "C" __global__ void stride_prelu_backward_dslope(const float* x, const float* dy, float* dslope, long long outer,
                                                        long long channels, long long inner) {
    STRIDE_FOR(c, channels) {
        double total = 0;
        for (long long o = 0; o < outer; o++) {
            long long base = (o * channels + c) * inner;
            double acc = 0;
            for (long long j = 0; j < inner; j++) {
                double v = x[base + j];
                if (!(v > 0)) acc += v * (double)dy[base + j];
            }
            total += acc;
        }
        dslope[c] = (float)total;
    }
}

// ---- the counter-based random ops (the reference's TrainKernels); key = CounterRng.key(seed, step), per run ----

// Dropout: mask = keep (the float 1/(1-p)) where uniform(key, i) >= p, else 0; y = x * mask as stored.
extern "C" __global__ void stride_dropout(const float* x, float* y, float* mask, long long n, unsigned long long key,
                                          double p, float keep) {
    STRIDE_FOR(i, n) {
        float m = stride_rng_uniform(key, i) >= p ? keep : 0.0f;
        mask[i] = m;
        y[i] = (float)((double)x[i] * (double)m);
    }
}

extern "C" __global__ void stride_gaussian_noise(float* y, long long n, unsigned long long key) {
    STRIDE_FOR(i, n) y[i] = (float)stride_rng_gaussian(key, i);
}
