package dev.stride.engine.cuda;

import dev.stride.graph.op.Unary;
import dev.stride.graph.op.UnaryBackward;

/**
 * The element-wise family's cuda kernels (kernels/elementwise.cu). Each factory prepares its launch once; the kernel
 * only runs it. The C signature of each kernel is repeated above its launch: the argument kinds must match it.
 */
final class CudaElementwiseKernels {
    private CudaElementwiseKernels() {}

    static final String SOURCE = "elementwise.cu";

    static void register(CudaKernelRegistry r) {
        r.source(SOURCE);
        r.register(Unary.class, (op, node) -> {
            long n = node.outShape(0).size();
            // stride_unary(const float* x, float* y, long long n, int fn, double a, double b)
            Launch l = node.launch("stride_unary", n, Arg.ptr(node.in(0)), Arg.ptr(node.out(0)), Arg.i64(n),
                    Arg.i32(unaryCode(op.fn())), Arg.f64(op.alpha()), Arg.f64(op.beta()));
            return ctx -> l.run();
        });
        r.register(UnaryBackward.class, (op, node) -> {
            long n = node.outShape(0).size();
            // stride_unary_backward(const float* x, const float* y, const float* dy, float* dx, long long n, int fn,
            //                       double a, double b)
            Launch l = node.launch("stride_unary_backward", n, Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                    Arg.ptr(node.in(2)), Arg.ptr(node.out(0)), Arg.i64(n), Arg.i32(unaryCode(op.fn())),
                    Arg.f64(op.alpha()), Arg.f64(op.beta()));
            return ctx -> l.run();
        });
    }

    /** The STRIDE_* function codes of elementwise.cu. */
    static int unaryCode(Unary.Fn fn) {
        return switch (fn) {
            case RELU -> 0;
            case LEAKY_RELU -> 1;
            case ELU -> 2;
            case SIGMOID -> 3;
            case TANH -> 4;
            case SOFTPLUS -> 5;
            case EXP -> 6;
            case LOG -> 7;
            case SQRT -> 8;
            case SQUARE -> 9;
            case ABS -> 10;
            case NEG -> 11;
            case SIGN -> 12;
            case SELU -> 13;
            case HARD_SIGMOID -> 14;
            case HARD_SWISH -> 15;
        };
    }
}
