package dev.stride.engine.cuda;

import dev.stride.engine.ChunkedOrder;
import dev.stride.engine.PoolWindows;
import dev.stride.graph.Shape;
import dev.stride.graph.op.AdaptiveAvgPool2d;
import dev.stride.graph.op.AdaptiveAvgPool2dBackward;
import dev.stride.graph.op.AvgPool2d;
import dev.stride.graph.op.AvgPool2dBackward;
import dev.stride.graph.op.BatchNorm2dBackward;
import dev.stride.graph.op.BatchNorm2dInfer;
import dev.stride.graph.op.BatchNorm2dInferBackward;
import dev.stride.graph.op.BatchNorm2dTrain;
import dev.stride.graph.op.MaxPool2d;
import dev.stride.graph.op.MaxPool2dBackward;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

/**
 * The pooling and batch-norm family's cuda kernels (kernels/pool.cu). Pooling windows are tables built here once per
 * node and shared by every plane ({@link Windows}); batch norm is a per-channel statistics kernel into double scratch
 * followed by an element kernel. Semantics, loop orders and tie rules are the reference's
 * (reference/PoolKernels, reference/TrainKernels).
 */
final class CudaPoolKernels {
    private CudaPoolKernels() {}

    static final String SOURCE = "pool.cu";

    static void register(CudaKernelRegistry r) {
        r.source(ChunkedSums.SOURCE);
        r.source(SOURCE);
        r.register(MaxPool2d.class, (op, node) -> {
            Shape x = node.inShape(0), y = node.outShape(0);
            Windows w = Windows.taps(x, y, op.kH(), op.kW(), op.strideH(), op.strideW(), op.padTop(), op.padLeft(),
                    op.dilationH(), op.dilationW());
            long planes = (long) x.dim(0) * x.dim(1);
            // stride_pool_max(const float* x, float* y, long long planes, long long inPlane, long long outPlane,
            //                 const long long* start, const long long* cells)
            return run(node.launch("stride_pool_max", planes * w.outPlane, Arg.ptr(node.in(0)), Arg.ptr(node.out(0)),
                    Arg.i64(planes), Arg.i64(w.inPlane), Arg.i64(w.outPlane), Arg.ptr(node.upload(w.start)),
                    Arg.ptr(node.upload(w.cells))));
        });
        r.register(MaxPool2dBackward.class, (op, node) -> {
            Shape x = node.inShape(0), y = node.inShape(1);
            Windows w = Windows.taps(x, y, op.kH(), op.kW(), op.strideH(), op.strideW(), op.padTop(), op.padLeft(),
                    op.dilationH(), op.dilationW());
            long planes = (long) x.dim(0) * x.dim(1);
            // stride_pool_max_backward(const float* x, const float* dy, float* dx, long long planes, long long inPlane,
            //                          long long outPlane, const long long* start, const long long* cells,
            //                          const long long* wstart, const long long* win)
            return run(node.launch("stride_pool_max_backward", planes * w.inPlane, Arg.ptr(node.in(0)),
                    Arg.ptr(node.in(1)), Arg.ptr(node.out(0)), Arg.i64(planes), Arg.i64(w.inPlane), Arg.i64(w.outPlane),
                    Arg.ptr(node.upload(w.start)), Arg.ptr(node.upload(w.cells)), Arg.ptr(node.upload(w.windowStart())),
                    Arg.ptr(node.upload(w.windows()))));
        });
        r.register(AvgPool2d.class, (op, node) -> {
            Shape x = node.inShape(0), y = node.outShape(0);
            return average(node, Windows.avg(op, x.dim(2), x.dim(3), y.dim(2), y.dim(3)), (long) x.dim(0) * x.dim(1));
        });
        r.register(AvgPool2dBackward.class, (op, node) -> {
            Shape dy = node.inShape(0);
            return averageGrad(node, Windows.avg(op.forward(), op.inH(), op.inW(), dy.dim(2), dy.dim(3)),
                    (long) dy.dim(0) * dy.dim(1));
        });
        r.register(AdaptiveAvgPool2d.class, (op, node) -> {
            Shape x = node.inShape(0);
            return average(node, Windows.adaptive(x.dim(2), x.dim(3), op.outH(), op.outW()), (long) x.dim(0) * x.dim(1));
        });
        r.register(AdaptiveAvgPool2dBackward.class, (op, node) -> {
            Shape dy = node.inShape(0);
            return averageGrad(node, Windows.adaptive(op.inH(), op.inW(), dy.dim(2), dy.dim(3)),
                    (long) dy.dim(0) * dy.dim(1));
        });
        registerBatchNorm(r);
    }

    private static CudaKernel run(Launch l) { return ctx -> l.run(); }

    private static CudaKernel run(Launch... launches) {
        return ctx -> {
            for (Launch l : launches) l.run();
        };
    }

    private static CudaKernel average(CudaNode node, Windows w, long planes) {
        // stride_pool_avg(const float* x, float* y, long long planes, long long inPlane, long long outPlane,
        //                 const long long* start, const long long* cells, const double* div)
        return run(node.launch("stride_pool_avg", planes * w.outPlane, Arg.ptr(node.in(0)), Arg.ptr(node.out(0)),
                Arg.i64(planes), Arg.i64(w.inPlane), Arg.i64(w.outPlane), Arg.ptr(node.upload(w.start)),
                Arg.ptr(node.upload(w.cells)), Arg.ptr(uploadDoubles(node, w.div))));
    }

    private static CudaKernel averageGrad(CudaNode node, Windows w, long planes) {
        // stride_pool_avg_backward(const float* dy, float* dx, long long planes, long long inPlane, long long outPlane,
        //                          const long long* wstart, const long long* win, const double* div)
        return run(node.launch("stride_pool_avg_backward", planes * w.inPlane, Arg.ptr(node.in(0)),
                Arg.ptr(node.out(0)), Arg.i64(planes), Arg.i64(w.inPlane), Arg.i64(w.outPlane),
                Arg.ptr(node.upload(w.windowStart())), Arg.ptr(node.upload(w.windows())),
                Arg.ptr(uploadDoubles(node, w.div))));
    }

    private static long uploadDoubles(CudaNode node, double[] values) {
        try (Arena a = Arena.ofConfined()) {
            return node.upload(a.allocateFrom(ValueLayout.JAVA_DOUBLE, values));
        }
    }

    // ---- batch norm ----

    private static void registerBatchNorm(CudaKernelRegistry r) {
        r.register(BatchNorm2dTrain.class, (op, node) -> {
            Nchw d = Nchw.of(node.inShape(0));
            ChunkedSums sums = new ChunkedSums(d.n, d.c, d.hw);
            long coef = node.scratch(16L * d.c);   // (scale, shift) per channel, double
            long part = sums.scratch(node, 1), sum = node.scratch(8L * d.c), sq = node.scratch(8L * d.c);
            long x = node.in(0);
            // stride_bn_train_finish(const double* sums, const double* sq, const float* gamma, const float* beta,
            //                        float* mean, float* var, double* coef, long long c, double m, double eps)
            Launch finish = node.launch("stride_bn_train_finish", d.c, Arg.ptr(sum), Arg.ptr(sq), Arg.ptr(node.in(1)),
                    Arg.ptr(node.in(2)), Arg.ptr(node.out(1)), Arg.ptr(node.out(2)), Arg.ptr(coef), Arg.i64(d.c),
                    Arg.f64((double) d.n * d.hw), Arg.f64(op.eps()));
            return run(sums.sums(node, x, part), sums.totals(node, part, sum, d.c),
                    sums.squaredDeviations(node, x, sum, part), sums.totals(node, part, sq, d.c), finish,
                    apply(node, d, coef));
        });
        r.register(BatchNorm2dInfer.class, (op, node) -> {
            Nchw d = Nchw.of(node.inShape(0));
            long coef = node.scratch(16L * d.c);
            // stride_bn_infer_coef(const float* gamma, const float* beta, const float* rmean, const float* rvar,
            //                      double* coef, long long c, double eps)
            Launch c = node.launch("stride_bn_infer_coef", d.c, Arg.ptr(node.in(1)), Arg.ptr(node.in(2)),
                    Arg.ptr(node.in(3)), Arg.ptr(node.in(4)), Arg.ptr(coef), Arg.i64(d.c), Arg.f64(op.eps()));
            return run(c, apply(node, d, coef));
        });
        // Both gradients take (x, gamma, mean, var, dy) -> (dx, dgamma, dbeta); the statistics are the batch's in
        // training and the running ones in inference.
        r.register(BatchNorm2dBackward.class, (op, node) -> {
            Nchw d = Nchw.of(node.inShape(0));
            long stats = node.scratch(32L * d.c);
            // stride_bn_train_dx(const float* x, const float* gamma, const float* dy, const double* stats, float* dx,
            //                    long long n, long long c, long long hw)
            Launch dx = node.launch("stride_bn_train_dx", d.total(), Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                    Arg.ptr(node.in(4)), Arg.ptr(stats), Arg.ptr(node.out(0)), Arg.i64(d.n), Arg.i64(d.c), Arg.i64(d.hw));
            return run(concat(gradStats(node, d, stats, op.eps()), dx));
        });
        r.register(BatchNorm2dInferBackward.class, (op, node) -> {
            Nchw d = Nchw.of(node.inShape(0));
            long stats = node.scratch(32L * d.c);
            // stride_bn_infer_dx(const float* gamma, const float* dy, const double* stats, float* dx, long long total,
            //                    long long c, long long hw)
            Launch dx = node.launch("stride_bn_infer_dx", d.total(), Arg.ptr(node.in(1)), Arg.ptr(node.in(4)),
                    Arg.ptr(stats), Arg.ptr(node.out(0)), Arg.i64(d.total()), Arg.i64(d.c), Arg.i64(d.hw));
            return run(concat(gradStats(node, d, stats, op.eps()), dx));
        });
    }

    private static Launch apply(CudaNode node, Nchw d, long coef) {
        // stride_bn_apply(const float* x, const double* coef, float* y, long long total, long long c, long long hw)
        return node.launch("stride_bn_apply", d.total(), Arg.ptr(node.in(0)), Arg.ptr(coef), Arg.ptr(node.out(0)),
                Arg.i64(d.total()), Arg.i64(d.c), Arg.i64(d.hw));
    }

    /**
     * The gradient sums of (x, gamma, mean, var, dy) -> (dx, dgamma, dbeta) in ChunkedOrder: chunk sums of dy and
     * dy * xhat, their totals per channel, then dgamma, dbeta and the (mu, inv, sdy, sdyx) stats in double.
     */
    private static Launch[] gradStats(CudaNode node, Nchw d, long stats, double eps) {
        ChunkedSums sums = new ChunkedSums(d.n, d.c, d.hw);
        long part = sums.scratch(node, 2), totals = node.scratch(16L * d.c);
        // stride_bn_grad_chunks(const float* x, const float* mean, const float* var, const float* dy, double* part,
        //                       long long n, long long c, long long hw, long long chunk, long long chunks, double eps)
        Launch chunks = node.launch("stride_bn_grad_chunks", sums.parts(), Arg.ptr(node.in(0)), Arg.ptr(node.in(2)),
                Arg.ptr(node.in(3)), Arg.ptr(node.in(4)), Arg.ptr(part), Arg.i64(d.n), Arg.i64(d.c), Arg.i64(d.hw),
                Arg.i64(ChunkedOrder.CHUNK), Arg.i64(sums.chunks), Arg.f64(eps));
        // stride_bn_grad_finish(const float* mean, const float* var, const double* totals, float* dgamma,
        //                       float* dbeta, double* stats, long long c, double eps)
        Launch finish = node.launch("stride_bn_grad_finish", d.c, Arg.ptr(node.in(2)), Arg.ptr(node.in(3)),
                Arg.ptr(totals), Arg.ptr(node.out(1)), Arg.ptr(node.out(2)), Arg.ptr(stats), Arg.i64(d.c), Arg.f64(eps));
        return new Launch[] {chunks, sums.totals(node, part, totals, 2 * d.c), finish};
    }

    private static Launch[] concat(Launch[] first, Launch last) {
        Launch[] all = Arrays.copyOf(first, first.length + 1);
        all[first.length] = last;
        return all;
    }

    /** An NCHW tensor as (n, c, h*w). */
    private record Nchw(long n, long c, long hw) {
        static Nchw of(Shape s) { return new Nchw(s.dim(0), s.dim(1), (long) s.dim(2) * s.dim(3)); }

        long total() { return n * c * hw; }
    }

    /**
     * Pooling windows of one plane: window o reads plane cells {@code cells[start[o] .. start[o+1])} in row-major
     * order; {@code div[o]} is its divisor (average pooling only).
     */
    static final class Windows {
        final long inPlane, outPlane;
        final long[] start, cells;
        final double[] div;

        private Windows(long inPlane, long outPlane, long[] start, long[] cells, double[] div) {
            this.inPlane = inPlane;
            this.outPlane = outPlane;
            this.start = start;
            this.cells = cells;
            this.div = div;
        }

        /** Max and Lp pooling: {@link PoolWindows#taps}. */
        static Windows taps(Shape x, Shape y, int kH, int kW, int sH, int sW, int padTop, int padLeft, int dH, int dW) {
            int inH = x.dim(2), inW = x.dim(3);
            int[][] rows = PoolWindows.taps(y.dim(2), inH, kH, sH, padTop, dH);
            int[][] cols = PoolWindows.taps(y.dim(3), inW, kW, sW, padLeft, dW);
            return of(inH, inW, rows.length, cols.length, a -> rows[a], b -> cols[b], null);
        }

        /** PyTorch's avg_pool2d boxes ({@link PoolWindows#average}). */
        static Windows avg(AvgPool2d op, int inH, int inW, int outH, int outW) {
            var rows = PoolWindows.average(inH, outH, op.kH(), op.strideH(), op.padTop(), op.padBottom());
            var cols = PoolWindows.average(inW, outW, op.kW(), op.strideW(), op.padLeft(), op.padRight());
            return boxes(inH, inW, rows, cols, PoolWindows.divisors(rows, cols, op.countIncludePad()));
        }

        static Windows adaptive(int inH, int inW, int outH, int outW) {
            var rows = PoolWindows.adaptive(inH, outH);
            var cols = PoolWindows.adaptive(inW, outW);
            return boxes(inH, inW, rows, cols, PoolWindows.divisors(rows, cols, false));
        }

        private static Windows boxes(int inH, int inW, PoolWindows.Boxes rows, PoolWindows.Boxes cols, double[] div) {
            return of(inH, inW, rows.size(), cols.size(), a -> range(rows.lo()[a], rows.hi()[a]),
                    b -> range(cols.lo()[b], cols.hi()[b]), div);
        }

        private static int[] range(int from, int to) { return java.util.stream.IntStream.range(from, Math.max(from, to)).toArray(); }

        /** Separable windows: window (a, b) reads rows(a) x cols(b), row-major. */
        private static Windows of(int inH, int inW, int outH, int outW, IntFunction<int[]> rows, IntFunction<int[]> cols,
                                  double[] div) {
            long[] start = new long[outH * outW + 1];
            List<Long> cells = new ArrayList<>();
            for (int a = 0, o = 0; a < outH; a++)
                for (int b = 0; b < outW; b++, o++) {
                    for (int i : rows.apply(a))
                        for (int j : cols.apply(b)) cells.add((long) i * inW + j);
                    start[o + 1] = cells.size();
                }
            return new Windows((long) inH * inW, (long) outH * outW, start,
                    cells.stream().mapToLong(Long::longValue).toArray(), div);
        }

        /** The inverse table's offsets: input cell i belongs to windows {@code windows()[windowStart()[i] ..]}. */
        long[] windowStart() {
            long[] ws = new long[Math.toIntExact(inPlane) + 1];
            for (long c : cells) ws[(int) c + 1]++;
            for (int i = 0; i < inPlane; i++) ws[i + 1] += ws[i];
            return ws;
        }

        /** The windows containing each input cell, in increasing window order (the reference's scatter order). */
        long[] windows() {
            long[] ws = windowStart(), next = ws.clone(), win = new long[cells.length];
            for (int o = 0; o < outPlane; o++)
                for (long k = start[o]; k < start[o + 1]; k++) win[(int) next[(int) cells[(int) k]]++] = o;
            return win;
        }
    }
}
