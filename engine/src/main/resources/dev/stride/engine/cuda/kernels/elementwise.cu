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
