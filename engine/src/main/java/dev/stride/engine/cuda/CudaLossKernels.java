package dev.stride.engine.cuda;

import dev.stride.engine.ChunkedOrder;
import dev.stride.engine.RunContext;
import dev.stride.engine.reference.Indexing;
import dev.stride.graph.Shape;
import dev.stride.graph.op.BceWithLogits;
import dev.stride.graph.op.BceWithLogitsBackward;
import dev.stride.graph.op.CounterRng;
import dev.stride.graph.op.GaussianKl;
import dev.stride.graph.op.GaussianKlBackward;
import dev.stride.graph.op.L1Loss;
import dev.stride.graph.op.L1LossBackward;
import dev.stride.graph.op.LogSoftmax;
import dev.stride.graph.op.LogSoftmaxBackward;
import dev.stride.graph.op.MseLoss;
import dev.stride.graph.op.ReduceMax;
import dev.stride.graph.op.ReduceMaxBackward;
import dev.stride.graph.op.ReduceMean;
import dev.stride.graph.op.ReduceSum;
import dev.stride.graph.op.Reparameterize;
import dev.stride.graph.op.ReparameterizeBackward;
import dev.stride.graph.op.Softmax;
import dev.stride.graph.op.SoftmaxBackward;
import dev.stride.graph.op.SoftmaxCrossEntropy;
import dev.stride.graph.op.SoftmaxCrossEntropyBackward;

/**
 * The loss family's cuda kernels (kernels/loss.cu): softmax and log-softmax and their gradients, softmax
 * cross-entropy, BCE with logits, MSE, L1 and Gaussian KL losses and their gradients, ReduceSum/Mean/Max and Max's
 * gradient, and Reparameterize (the reference's noise, bit for bit, from CounterRng) and its gradient.
 *
 * <p>One difference from the reference, which throws for a label of SoftmaxCrossEntropy that is not a class
 * index: a kernel cannot throw, so that row's loss term and gradient row are NaN (the mean loss is then NaN).
 *
 * <p>Each factory prepares its launches once (scratch for per-row and per-line statistics taken then); the kernel
 * only runs them. The C signature of each kernel is repeated above its launch: the argument kinds must match it.
 */
final class CudaLossKernels {
    private CudaLossKernels() {}

    static final String SOURCE = "loss.cu";

    /** The LOSS_* codes of loss.cu's stride_mean_loss. */
    private static final int BCE_WITH_LOGITS = 0, MSE = 1, L1 = 2, GAUSSIAN_KL = 3;
    /** The LOSS_REDUCE_* codes of loss.cu's stride_reduce. */
    private static final int SUM = 0, MEAN = 1, MAX = 2;

    static void register(CudaKernelRegistry r) {
        r.source(SOURCE);
        registerSoftmax(r);
        registerCrossEntropy(r);
        r.register(BceWithLogits.class, (op, node) -> meanLoss(node, BCE_WITH_LOGITS, node.inShape(0).size()));
        r.register(MseLoss.class, (op, node) -> meanLoss(node, MSE, node.inShape(0).size()));
        r.register(L1Loss.class, (op, node) -> meanLoss(node, L1, node.inShape(0).size()));
        r.register(GaussianKl.class, (op, node) -> meanLoss(node, GAUSSIAN_KL, node.inShape(0).dim(0)));
        r.register(BceWithLogitsBackward.class, (op, node) -> {
            long n = node.outShape(0).size();
            // stride_bce_with_logits_backward(const float* x, const float* t, const float* dy, float* dx, float* dt,
            //                                 long long n)
            return run(node.launch("stride_bce_with_logits_backward", n, Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                    Arg.ptr(node.in(2)), Arg.ptr(node.out(0)), Arg.ptr(node.out(1)), Arg.i64(n)));
        });
        r.register(L1LossBackward.class, (op, node) -> {
            long n = node.outShape(0).size();
            // stride_l1_loss_backward(const float* a, const float* b, const float* dy, float* da, long long n)
            return run(node.launch("stride_l1_loss_backward", n, Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                    Arg.ptr(node.in(2)), Arg.ptr(node.out(0)), Arg.i64(n)));
        });
        r.register(GaussianKlBackward.class, (op, node) -> {
            long n = node.outShape(0).size();
            // stride_gaussian_kl_backward(const float* mu, const float* logvar, const float* dy, float* dmu,
            //                             float* dlogvar, long long n, double batch)
            return run(node.launch("stride_gaussian_kl_backward", n, Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                    Arg.ptr(node.in(2)), Arg.ptr(node.out(0)), Arg.ptr(node.out(1)), Arg.i64(n),
                    Arg.f64(node.inShape(0).dim(0))));
        });
        r.register(Reparameterize.class, (op, node) -> {
            long n = node.outShape(0).size();
            // stride_reparameterize(const float* mu, const float* logvar, float* z, float* noise, long long n,
            //                       unsigned long long key)
            Launch l = node.launch("stride_reparameterize", n, Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                    Arg.ptr(node.out(0)), Arg.ptr(node.out(1)), Arg.i64(n), Arg.i64(0));
            long seed = op.seed();
            return (RunContext ctx) -> {
                l.set(5, Arg.i64(CounterRng.key(seed, ctx.step())));   // the reference's key of (seed, step)
                l.run();
            };
        });
        r.register(ReparameterizeBackward.class, (op, node) -> {
            long n = node.outShape(0).size();
            // stride_reparameterize_backward(const float* logvar, const float* noise, const float* dz, float* dlogvar,
            //                                long long n)
            return run(node.launch("stride_reparameterize_backward", n, Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                    Arg.ptr(node.in(2)), Arg.ptr(node.out(0)), Arg.i64(n)));
        });
        registerReductions(r);
    }

    private static CudaKernel run(Launch l) { return ctx -> l.run(); }

    private static CudaKernel run(Launch first, Launch second) {
        return ctx -> {
            first.run();
            second.run();
        };
    }

    // ---- softmax ----

    /** A tensor viewed as [outer, n, inner] around the softmax axis. */
    private record AxisLayout(long outer, long n, long inner) {
        static AxisLayout of(Shape s, int axis) {
            int a = Softmax.normalizeAxis(axis, s);
            long outer = 1, inner = 1;
            for (int i = 0; i < a; i++) outer *= s.dim(i);
            for (int i = a + 1; i < s.rank(); i++) inner *= s.dim(i);
            return new AxisLayout(outer, s.dim(a), inner);
        }

        long positions() { return outer * inner; }

        long total() { return outer * n * inner; }
    }

    private static void registerSoftmax(CudaKernelRegistry r) {
        r.register(Softmax.class, (op, node) -> softmax(node, op.axis(), false));
        r.register(LogSoftmax.class, (op, node) -> softmax(node, op.axis(), true));
        r.register(SoftmaxBackward.class, (op, node) -> softmaxBackward(node, op.axis(), false));
        r.register(LogSoftmaxBackward.class, (op, node) -> softmaxBackward(node, op.axis(), true));
    }

    private static CudaKernel softmax(CudaNode node, int axis, boolean log) {
        AxisLayout l = AxisLayout.of(node.outShape(0), axis);
        long stats = node.scratch(16 * l.positions());   // (max, sum) per line, in double
        // stride_softmax_stats(const float* x, double* stats, long long positions, long long n, long long inner,
        //                      int log_sum)
        Launch s = node.launch("stride_softmax_stats", l.positions(), Arg.ptr(node.in(0)), Arg.ptr(stats),
                Arg.i64(l.positions()), Arg.i64(l.n()), Arg.i64(l.inner()), Arg.i32(log ? 1 : 0));
        // stride_softmax(const float* x, const double* stats, float* y, long long total, long long n, long long inner,
        //                int log_out)
        Launch y = node.launch("stride_softmax", l.total(), Arg.ptr(node.in(0)), Arg.ptr(stats), Arg.ptr(node.out(0)),
                Arg.i64(l.total()), Arg.i64(l.n()), Arg.i64(l.inner()), Arg.i32(log ? 1 : 0));
        return run(s, y);
    }

    /** Inputs y (the forward output) and dy. */
    private static CudaKernel softmaxBackward(CudaNode node, int axis, boolean log) {
        AxisLayout l = AxisLayout.of(node.outShape(0), axis);
        long stats = node.scratch(8 * l.positions());
        // stride_softmax_backward_stats(const float* y, const float* dy, double* stats, long long positions,
        //                               long long n, long long inner, int log_softmax)
        Launch s = node.launch("stride_softmax_backward_stats", l.positions(), Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                Arg.ptr(stats), Arg.i64(l.positions()), Arg.i64(l.n()), Arg.i64(l.inner()), Arg.i32(log ? 1 : 0));
        // stride_softmax_backward(const float* y, const float* dy, const double* stats, float* dx, long long total,
        //                         long long n, long long inner, int log_softmax)
        Launch dx = node.launch("stride_softmax_backward", l.total(), Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                Arg.ptr(stats), Arg.ptr(node.out(0)), Arg.i64(l.total()), Arg.i64(l.n()), Arg.i64(l.inner()),
                Arg.i32(log ? 1 : 0));
        return run(s, dx);
    }

    // ---- losses ----

    private static void registerCrossEntropy(CudaKernelRegistry r) {
        r.register(SoftmaxCrossEntropy.class, (op, node) -> {
            long rows = node.inShape(0).dim(0), classes = node.inShape(0).dim(1);
            long term = node.scratch(8 * rows);
            // stride_sce_rows(const float* logits, const float* labels, double* term, long long rows,
            //                 long long classes, int grad_lse)
            Launch t = node.launch("stride_sce_rows", rows, Arg.ptr(node.in(0)), Arg.ptr(node.in(1)), Arg.ptr(term),
                    Arg.i64(rows), Arg.i64(classes), Arg.i32(0));
            // stride_sce_mean(const double* term, float* y, long long rows)
            Launch y = node.launch("stride_sce_mean", 1, Arg.ptr(term), Arg.ptr(node.out(0)), Arg.i64(rows));
            return run(t, y);
        });
        r.register(SoftmaxCrossEntropyBackward.class, (op, node) -> {
            long rows = node.inShape(0).dim(0), classes = node.inShape(0).dim(1);
            long lse = node.scratch(8 * rows);
            // stride_sce_rows(const float* logits, const float* labels, double* term, long long rows,
            //                 long long classes, int grad_lse)
            Launch t = node.launch("stride_sce_rows", rows, Arg.ptr(node.in(0)), Arg.ptr(node.in(1)), Arg.ptr(lse),
                    Arg.i64(rows), Arg.i64(classes), Arg.i32(1));
            // stride_sce_backward(const float* logits, const float* labels, const double* lse, const float* dy,
            //                     float* dx, long long total, long long rows, long long classes)
            Launch dx = node.launch("stride_sce_backward", rows * classes, Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                    Arg.ptr(lse), Arg.ptr(node.in(2)), Arg.ptr(node.out(0)), Arg.i64(rows * classes), Arg.i64(rows),
                    Arg.i64(classes));
            return run(t, dx);
        });
    }

    /**
     * A scalar loss: the sum of one term per element pair of inputs 0 and 1, divided by {@code divisor}; summed in
     * ChunkedOrder, one thread per chunk, then one thread adding the chunk sums.
     */
    private static CudaKernel meanLoss(CudaNode node, int loss, long divisor) {
        long n = node.inShape(0).size(), parts = ChunkedOrder.chunks(n), part = node.scratch(8L * parts);
        // stride_mean_loss_chunks(const float* a, const float* b, double* part, long long n, int loss, long long chunk,
        //                         long long parts)
        Launch chunks = node.launch("stride_mean_loss_chunks", parts, Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                Arg.ptr(part), Arg.i64(n), Arg.i32(loss), Arg.i64(ChunkedOrder.CHUNK), Arg.i64(parts));
        // stride_mean_loss(const double* part, long long parts, float* y, double divisor)
        return run(chunks, node.launch("stride_mean_loss", 1, Arg.ptr(part), Arg.i64(parts), Arg.ptr(node.out(0)),
                Arg.f64(divisor)));
    }

    // ---- reductions ----

    private static void registerReductions(CudaKernelRegistry r) {
        r.register(ReduceSum.class, (op, node) -> reduce(node, op.axes(), SUM));
        r.register(ReduceMean.class, (op, node) -> reduce(node, op.axes(), MEAN));
        r.register(ReduceMax.class, (op, node) -> reduce(node, op.axes(), MAX));
        r.register(ReduceMaxBackward.class, (op, node) -> {
            Shape x = node.inShape(0), kept = ReduceSum.keptShape(x, op.axes());
            IndexLayout.Reduction l = IndexLayout.sumTo(x, kept);
            long slots = node.inShape(1).size();
            long arg = node.scratch(8 * slots);
            // stride_reduce_argmax(const float* x, long long* arg, long long n_out, long long n_red, int kr, int rr,
            //                      const long long* layout)
            Launch a = node.launch("stride_reduce_argmax", slots, Arg.ptr(node.in(0)), Arg.ptr(arg), Arg.i64(slots),
                    Arg.i64(l.reducedSize()), Arg.i32(l.kept()), Arg.i32(l.reduced()), Arg.ptr(node.upload(l.table())));
            // The slot of input index e: e laid against the keepDims shape, stride 0 along reduced axes.
            IndexLayout slot = IndexLayout.strided(x, Indexing.broadcastStrides(kept, x));
            // stride_reduce_max_backward(const long long* arg, const float* dy, float* dx, long long n, int rank,
            //                            const long long* slots)
            Launch dx = node.launch("stride_reduce_max_backward", x.size(), Arg.ptr(arg), Arg.ptr(node.in(1)),
                    Arg.ptr(node.out(0)), Arg.i64(x.size()), Arg.i32(slot.rank()), Arg.ptr(node.upload(slot.table())));
            return run(a, dx);
        });
    }

    private static CudaKernel reduce(CudaNode node, int[] axes, int kind) {
        Shape in = node.inShape(0);
        IndexLayout.Reduction l = IndexLayout.sumTo(in, ReduceSum.keptShape(in, axes));
        long nOut = node.outShape(0).size();
        // The reference's count: input size / output size, 0 for an empty reduced axis (the mean is then 0/0 = NaN).
        double count = nOut == 0 ? 1 : (double) in.size() / nOut;
        // stride_reduce(const float* x, float* y, long long n_out, long long n_red, int kr, int rr,
        //               const long long* layout, int kind, double count)
        return run(node.launch("stride_reduce", nOut, Arg.ptr(node.in(0)), Arg.ptr(node.out(0)), Arg.i64(nOut),
                Arg.i64(l.reducedSize()), Arg.i32(l.kept()), Arg.i32(l.reduced()), Arg.ptr(node.upload(l.table())),
                Arg.i32(kind), Arg.f64(count)));
    }
}
