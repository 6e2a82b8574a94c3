package dev.stride.engine.cuda;

import dev.stride.engine.RunContext;
import dev.stride.engine.reference.Indexing;
import dev.stride.graph.Shape;
import dev.stride.graph.op.Affine;
import dev.stride.graph.op.BiasBroadcast;
import dev.stride.graph.op.BiasGrad;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.BinaryBackward;
import dev.stride.graph.op.BroadcastTo;
import dev.stride.graph.op.Clip;
import dev.stride.graph.op.ClipBackward;
import dev.stride.graph.op.CounterRng;
import dev.stride.graph.op.Dropout;
import dev.stride.graph.op.Fill;
import dev.stride.graph.op.GaussianNoise;
import dev.stride.graph.op.PRelu;
import dev.stride.graph.op.PReluBackward;
import dev.stride.graph.op.Reshape;
import dev.stride.graph.op.SumTo;
import dev.stride.graph.op.Unary;
import dev.stride.graph.op.UnaryBackward;

/**
 * The element-wise family's cuda kernels (kernels/elementwise.cu): Unary and its backward, Binary (broadcasting) and
 * BinaryBackward, Affine, Fill, BroadcastTo, BiasBroadcast, SumTo, BiasGrad, Reshape (a device copy: the memory
 * plan gives input and output their own buffers), Clip and its backward, PRelu and its backward, and the
 * counter-based random ops Dropout and GaussianNoise (the same streams as the reference, bit for bit). Values are
 * computed in double and rounded once, as the reference kernels do; sums run one thread per output in the
 * reference's order.
 *
 * <p>Each factory prepares its launches once; the kernel only runs them. The C signature of each kernel is
 * repeated above its launch: the argument kinds must match it exactly.
 */
final class CudaElementwiseKernels {
    private CudaElementwiseKernels() {}

    static final String SOURCE = "elementwise.cu";

    static void register(CudaKernelRegistry r) {
        r.source(ChunkedSums.SOURCE);
        r.source(SOURCE);
        r.register(Unary.class, (op, node) -> {
            long n = node.outShape(0).size();
            // stride_unary(const float* x, float* y, long long n, int fn, double a, double b)
            return run(node.launch("stride_unary", n, Arg.ptr(node.in(0)), Arg.ptr(node.out(0)), Arg.i64(n),
                    Arg.i32(unaryCode(op.fn())), Arg.f64(op.alpha()), Arg.f64(op.beta())));
        });
        r.register(UnaryBackward.class, (op, node) -> {
            long n = node.outShape(0).size();
            // stride_unary_backward(const float* x, const float* y, const float* dy, float* dx, long long n, int fn,
            //                       double a, double b)
            return run(node.launch("stride_unary_backward", n, Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                    Arg.ptr(node.in(2)), Arg.ptr(node.out(0)), Arg.i64(n), Arg.i32(unaryCode(op.fn())),
                    Arg.f64(op.alpha()), Arg.f64(op.beta())));
        });
        r.register(Binary.class, (op, node) -> {
            Shape out = node.outShape(0);
            IndexLayout l = IndexLayout.broadcast(out, node.inShape(0), node.inShape(1));
            // stride_binary(const float* a, const float* b, float* y, long long n, int op, int rank,
            //               const long long* layout)
            return run(node.launch("stride_binary", out.size(), Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                    Arg.ptr(node.out(0)), Arg.i64(out.size()), Arg.i32(binaryCode(op.op())), Arg.i32(l.rank()),
                    Arg.ptr(node.upload(l.table()))));
        });
        r.register(BinaryBackward.class, (op, node) -> {
            Shape out = node.inShape(2);
            IndexLayout l = IndexLayout.broadcast(out, node.inShape(0), node.inShape(1));
            // stride_binary_backward(const float* a, const float* b, const float* dy, float* da, float* db,
            //                        long long n, int op, int rank, const long long* layout)
            return run(node.launch("stride_binary_backward", out.size(), Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                    Arg.ptr(node.in(2)), Arg.ptr(node.out(0)), Arg.ptr(node.out(1)), Arg.i64(out.size()),
                    Arg.i32(binaryCode(op.op())), Arg.i32(l.rank()), Arg.ptr(node.upload(l.table()))));
        });
        r.register(Affine.class, (op, node) -> {
            long n = node.outShape(0).size();
            // stride_affine(const float* x, float* y, long long n, double scale, double shift)
            return run(node.launch("stride_affine", n, Arg.ptr(node.in(0)), Arg.ptr(node.out(0)), Arg.i64(n),
                    Arg.f64(op.scale()), Arg.f64(op.shift())));
        });
        r.register(Fill.class, (op, node) -> fill(node, 0, (float) op.value()));
        r.register(BroadcastTo.class, (op, node) -> broadcast(node, Indexing.broadcastStrides(node.inShape(0), node.outShape(0))));
        r.register(BiasBroadcast.class, (op, node) -> {
            long[] s = new long[node.outShape(0).rank()];
            s[1] = 1;   // b[C] walks the channel dimension only
            return broadcast(node, s);
        });
        r.register(SumTo.class, (op, node) -> sumTo(node));
        r.register(BiasGrad.class, (op, node) -> {
            Shape s = node.inShape(0);
            long batch = s.dim(0), c = s.dim(1), inner = s.size() / Math.max(1, batch * c);
            // In ChunkedOrder: chunk sums of every [n, c] run of dy, then their totals per channel, rounded to float.
            ChunkedSums sums = new ChunkedSums(batch, c, inner);
            long part = sums.scratch(node, 1);
            Launch chunks = sums.sums(node, node.in(0), part), totals = sums.floatTotals(node, part, node.out(0));
            return ctx -> {
                chunks.run();
                totals.run();
            };
        });
        r.register(Reshape.class, (op, node) -> {
            long bytes = 4 * node.outShape(0).size();
            long from = node.in(0), to = node.out(0);
            Device d = node.device();
            return ctx -> d.copy(from, to, bytes);
        });
        r.register(Clip.class, (op, node) -> {
            long n = node.outShape(0).size();
            // stride_clip(const float* x, float* y, long long n, double lo, double hi)
            return run(node.launch("stride_clip", n, Arg.ptr(node.in(0)), Arg.ptr(node.out(0)), Arg.i64(n),
                    Arg.f64(op.min()), Arg.f64(op.max())));
        });
        r.register(ClipBackward.class, (op, node) -> {
            long n = node.outShape(0).size();
            // stride_clip_backward(const float* x, const float* dy, float* dx, long long n, double lo, double hi)
            return run(node.launch("stride_clip_backward", n, Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                    Arg.ptr(node.out(0)), Arg.i64(n), Arg.f64(op.min()), Arg.f64(op.max())));
        });
        r.register(PRelu.class, (op, node) -> {
            PReluLayout l = PReluLayout.of(node.inShape(0), node.inShape(1));
            long n = node.outShape(0).size();
            // stride_prelu(const float* x, const float* slope, float* y, long long n, long long channels,
            //              long long inner)
            return run(node.launch("stride_prelu", n, Arg.ptr(node.in(0)), Arg.ptr(node.in(1)), Arg.ptr(node.out(0)),
                    Arg.i64(n), Arg.i64(l.channels()), Arg.i64(l.inner())));
        });
        r.register(PReluBackward.class, (op, node) -> {
            PReluLayout l = PReluLayout.of(node.inShape(0), node.inShape(1));
            long n = node.outShape(0).size();
            // stride_prelu_backward_dx(const float* x, const float* slope, const float* dy, float* dx, long long n,
            //                          long long channels, long long inner)
            Launch dx = node.launch("stride_prelu_backward_dx", n, Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                    Arg.ptr(node.in(2)), Arg.ptr(node.out(0)), Arg.i64(n), Arg.i64(l.channels()), Arg.i64(l.inner()));
            // stride_prelu_backward_dslope(const float* x, const float* dy, float* dslope, long long outer,
            //                              long long channels, long long inner)
            Launch ds = node.launch("stride_prelu_backward_dslope", l.channels(), Arg.ptr(node.in(0)),
                    Arg.ptr(node.in(2)), Arg.ptr(node.out(1)), Arg.i64(l.outer()), Arg.i64(l.channels()),
                    Arg.i64(l.inner()));
            return ctx -> {
                dx.run();
                ds.run();
            };
        });
        r.register(Dropout.class, (op, node) -> {
            long n = node.outShape(0).size();
            // stride_dropout(const float* x, float* y, float* mask, long long n, unsigned long long key, double p,
            //                float keep)
            Launch l = node.launch("stride_dropout", n, Arg.ptr(node.in(0)), Arg.ptr(node.out(0)), Arg.ptr(node.out(1)),
                    Arg.i64(n), Arg.i64(0), Arg.f64(op.p()), Arg.f32((float) (1 / (1 - op.p()))));
            return keyed(l, 4, op.seed());
        });
        r.register(GaussianNoise.class, (op, node) -> {
            long n = node.outShape(0).size();
            // stride_gaussian_noise(float* y, long long n, unsigned long long key)
            Launch l = node.launch("stride_gaussian_noise", n, Arg.ptr(node.out(0)), Arg.i64(n), Arg.i64(0));
            return keyed(l, 2, op.seed());
        });
    }

    private static CudaKernel run(Launch l) { return ctx -> l.run(); }

    /** A random op: argument {@code keyArg} is CounterRng.key(seed, step), set before every run. */
    private static CudaKernel keyed(Launch l, int keyArg, long seed) {
        return (RunContext ctx) -> {
            l.set(keyArg, Arg.i64(CounterRng.key(seed, ctx.step())));
            l.run();
        };
    }

    /** Output {@code i} = {@code value} everywhere. */
    static CudaKernel fill(CudaNode node, int output, float value) {
        long n = node.outShape(output).size();
        // stride_fill(float* y, long long n, float value)
        return run(node.launch("stride_fill", n, Arg.ptr(node.out(output)), Arg.i64(n), Arg.f32(value)));
    }

    /** y[i] = x[offset of i], x read at {@code strides} (one per output dimension, 0 where it repeats). */
    private static CudaKernel broadcast(CudaNode node, long[] strides) {
        Shape out = node.outShape(0);
        IndexLayout l = IndexLayout.strided(out, strides);
        // stride_broadcast(const float* x, float* y, long long n, int rank, const long long* layout)
        return run(node.launch("stride_broadcast", out.size(), Arg.ptr(node.in(0)), Arg.ptr(node.out(0)),
                Arg.i64(out.size()), Arg.i32(l.rank()), Arg.ptr(node.upload(l.table()))));
    }

    private static CudaKernel sumTo(CudaNode node) {
        Shape from = node.inShape(0), to = node.outShape(0);
        IndexLayout.Reduction l = IndexLayout.sumTo(from, to);
        if (l.reducedSize() == 0) return fill(node, 0, 0f);   // an empty sum is 0
        // stride_sum_to(const float* x, float* y, long long nOut, long long nRed, int kr, int rr,
        //               const long long* layout)
        return run(node.launch("stride_sum_to", to.size(), Arg.ptr(node.in(0)), Arg.ptr(node.out(0)), Arg.i64(to.size()),
                Arg.i64(l.reducedSize()), Arg.i32(l.kept()), Arg.i32(l.reduced()), Arg.ptr(node.upload(l.table()))));
    }

    /** x viewed as [outer, channels, inner] with one slope per channel; a [1] slope is shared: [1, 1, size]. */
    private record PReluLayout(long outer, long channels, long inner) {
        static PReluLayout of(Shape x, Shape slope) {
            if (slope.dim(0) == 1 || x.rank() < 2) return new PReluLayout(1, 1, x.size());
            long inner = 1;
            for (int i = 2; i < x.rank(); i++) inner *= x.dim(i);
            return new PReluLayout(x.dim(0), x.dim(1), inner);
        }
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

    /** The STRIDE_* operation codes of elementwise.cu. */
    static int binaryCode(Binary.Kind k) {
        return switch (k) {
            case ADD -> 0;
            case SUB -> 1;
            case MUL -> 2;
            case DIV -> 3;
            case POW -> 4;
            case MAX -> 5;
            case MIN -> 6;
        };
    }
}
