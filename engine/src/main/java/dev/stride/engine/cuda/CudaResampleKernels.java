package dev.stride.engine.cuda;

import dev.stride.engine.ResampleTaps;
import dev.stride.graph.Shape;
import dev.stride.graph.op.InstanceNorm2d;
import dev.stride.graph.op.InstanceNorm2dBackward;
import dev.stride.graph.op.LpPool2d;
import dev.stride.graph.op.LpPool2dBackward;
import dev.stride.graph.op.Lrn;
import dev.stride.graph.op.LrnBackward;
import dev.stride.graph.op.Resize2d;
import dev.stride.graph.op.Resize2dBackward;
import dev.stride.graph.op.Upsample2d;
import dev.stride.graph.op.Upsample2dBackward;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;

/**
 * The resampling and normalization family's cuda kernels (kernels/resample.cu): Upsample2d and Resize2d with their
 * gradients (the gradient is the adjoint of a sparse linear map, gathered per input cell over host-built lists in
 * the reference's scatter order), Lp pooling (windows as {@link CudaPoolKernels.Windows}), instance norm and LRN.
 */
final class CudaResampleKernels {
    private CudaResampleKernels() {}

    static final String SOURCE = "resample.cu";

    static void register(CudaKernelRegistry r) {
        r.source(SOURCE);
        r.register(Upsample2d.class, (op, node) -> {
            Shape x = node.inShape(0);
            return resample(node, x, ResampleTaps.upsample(op.mode(), x.dim(2), op.outH(), op.alignCorners()),
                    ResampleTaps.upsample(op.mode(), x.dim(3), op.outW(), op.alignCorners()), op.mode() == Upsample2d.Mode.NEAREST);
        });
        r.register(Upsample2dBackward.class, (op, node) -> {
            Shape dy = node.inShape(0);
            return adjoint(node, dy, op.inH(), op.inW(), ResampleTaps.upsample(op.mode(), op.inH(), dy.dim(2), op.alignCorners()),
                    ResampleTaps.upsample(op.mode(), op.inW(), dy.dim(3), op.alignCorners()));
        });
        r.register(Resize2d.class, (op, node) -> {
            Shape x = node.inShape(0);
            return resample(node, x, ResampleTaps.resize(op.mode(), op.coord(), op.nearest(), x.dim(2), op.outH(), op.scaleH()),
                    ResampleTaps.resize(op.mode(), op.coord(), op.nearest(), x.dim(3), op.outW(), op.scaleW()),
                    op.mode() == Resize2d.Mode.NEAREST);
        });
        r.register(Resize2dBackward.class, (op, node) -> {
            Shape dy = node.inShape(0);
            return adjoint(node, dy, op.inH(), op.inW(),
                    ResampleTaps.resize(op.mode(), op.coord(), op.nearest(), op.inH(), dy.dim(2), op.scaleH()),
                    ResampleTaps.resize(op.mode(), op.coord(), op.nearest(), op.inW(), dy.dim(3), op.scaleW()));
        });
        r.register(LpPool2d.class, (op, node) -> {
            Shape x = node.inShape(0), y = node.outShape(0);
            var w = CudaPoolKernels.Windows.taps(x, y, op.kH(), op.kW(), op.strideH(), op.strideW(), op.padTop(),
                    op.padLeft(), op.dilationH(), op.dilationW());
            long planes = (long) x.dim(0) * x.dim(1);
            // stride_pool_lp(const float* x, float* y, long long planes, long long inPlane, long long outPlane,
            //                const long long* start, const long long* cells, double p)
            Launch l = node.launch("stride_pool_lp", planes * w.outPlane, Arg.ptr(node.in(0)), Arg.ptr(node.out(0)),
                    Arg.i64(planes), Arg.i64(w.inPlane), Arg.i64(w.outPlane), Arg.ptr(node.upload(w.start)),
                    Arg.ptr(node.upload(w.cells)), Arg.f64(op.p()));
            return ctx -> l.run();
        });
        r.register(LpPool2dBackward.class, (op, node) -> {
            Shape x = node.inShape(0), y = node.inShape(1);
            var w = CudaPoolKernels.Windows.taps(x, y, op.kH(), op.kW(), op.strideH(), op.strideW(), op.padTop(),
                    op.padLeft(), op.dilationH(), op.dilationW());
            long planes = (long) x.dim(0) * x.dim(1);
            // stride_pool_lp_backward(const float* x, const float* y, const float* dy, float* dx, long long planes,
            //                         long long inPlane, long long outPlane, const long long* wstart,
            //                         const long long* win, double p)
            Launch l = node.launch("stride_pool_lp_backward", planes * w.inPlane, Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                    Arg.ptr(node.in(2)), Arg.ptr(node.out(0)), Arg.i64(planes), Arg.i64(w.inPlane), Arg.i64(w.outPlane),
                    Arg.ptr(node.upload(w.windowStart())), Arg.ptr(node.upload(w.windows())), Arg.f64(op.p()));
            return ctx -> l.run();
        });
        registerInstanceNorm(r);
        registerLrn(r);
    }

    private static CudaKernel resample(CudaNode node, Shape x, ResampleTaps h, ResampleTaps w, boolean nearest) {
        long planes = (long) x.dim(0) * x.dim(1);
        // stride_resample(const float* x, float* y, long long planes, long long inH, long long inW, long long outH,
        //                 long long outW, const long long* hi0, const long long* hi1, const double* hw0,
        //                 const double* hw1, const long long* wi0, const long long* wi1, const double* ww0,
        //                 const double* ww1, int nearest)
        Launch l = node.launch("stride_resample", planes * h.size() * w.size(), Arg.ptr(node.in(0)), Arg.ptr(node.out(0)),
                Arg.i64(planes), Arg.i64(x.dim(2)), Arg.i64(x.dim(3)), Arg.i64(h.size()), Arg.i64(w.size()),
                Arg.ptr(node.upload(h.i0l())), Arg.ptr(node.upload(h.i1l())), Arg.ptr(doubles(node, h.w0())),
                Arg.ptr(doubles(node, h.w1())), Arg.ptr(node.upload(w.i0l())), Arg.ptr(node.upload(w.i1l())),
                Arg.ptr(doubles(node, w.w0())), Arg.ptr(doubles(node, w.w1())), Arg.i32(nearest ? 1 : 0));
        return ctx -> l.run();
    }

    /**
     * The gradient of a resampling: for every output (oh, ow) in order, its four terms (row r0/r1 x column j0/j1,
     * weight a*b) in the order PoolKernels.resizeGrad adds them, listed per input cell.
     */
    private static CudaKernel adjoint(CudaNode node, Shape dy, int inH, int inW, ResampleTaps h, ResampleTaps w) {
        int outH = h.size(), outW = w.size(), inPlane = inH * inW, terms = 4 * outH * outW;
        int[] cell = new int[terms];
        long[] out = new long[terms];
        double[] weight = new double[terms];
        for (int oh = 0, k = 0; oh < outH; oh++)
            for (int ow = 0; ow < outW; ow++)
                for (int t = 0; t < 4; t++, k++) {
                    boolean lowRow = t < 2, lowCol = t % 2 == 0;
                    cell[k] = (int) ((lowRow ? h.i0()[oh] : h.i1()[oh]) * inW + (lowCol ? w.i0()[ow] : w.i1()[ow]));
                    out[k] = (long) oh * outW + ow;
                    weight[k] = (lowRow ? h.w0()[oh] : h.w1()[oh]) * (lowCol ? w.w0()[ow] : w.w1()[ow]);
                }
        // Counting sort by cell, stable: each cell's terms keep their order.
        long[] start = new long[inPlane + 1];
        for (int c : cell) start[c + 1]++;
        for (int i = 0; i < inPlane; i++) start[i + 1] += start[i];
        long[] next = start.clone(), sortedOut = new long[terms];
        double[] sortedWeight = new double[terms];
        for (int k = 0; k < terms; k++) {
            int at = (int) next[cell[k]]++;
            sortedOut[at] = out[k];
            sortedWeight[at] = weight[k];
        }
        long planes = (long) dy.dim(0) * dy.dim(1);
        // stride_sparse_adjoint(const float* dy, float* dx, long long planes, long long inPlane, long long outPlane,
        //                       const long long* start, const long long* out, const double* weight)
        Launch l = node.launch("stride_sparse_adjoint", planes * inPlane, Arg.ptr(node.in(0)), Arg.ptr(node.out(0)),
                Arg.i64(planes), Arg.i64(inPlane), Arg.i64((long) outH * outW), Arg.ptr(node.upload(start)),
                Arg.ptr(node.upload(sortedOut)), Arg.ptr(doubles(node, sortedWeight)));
        return ctx -> l.run();
    }

    private static long doubles(CudaNode node, double[] values) {
        try (Arena a = Arena.ofConfined()) {
            return node.upload(a.allocateFrom(ValueLayout.JAVA_DOUBLE, values));
        }
    }

    /** Per output index along one axis: two source indices and their weights (nearest: one, weight 1). */
    // ---- instance norm ----

    private static void registerInstanceNorm(CudaKernelRegistry r) {
        r.register(InstanceNorm2d.class, (op, node) -> {
            Shape x = node.inShape(0);
            long planes = (long) x.dim(0) * x.dim(1), c = x.dim(1), m = (long) x.dim(2) * x.dim(3);
            long stats = node.scratch(32 * planes);
            Launch s = stats(node, stats, false, planes, m, op.eps());
            // stride_instance_norm(const float* x, const float* gamma, const float* beta, const double* stats,
            //                      float* y, long long planes, long long c, long long m)
            Launch y = node.launch("stride_instance_norm", planes * m, Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                    Arg.ptr(node.in(2)), Arg.ptr(stats), Arg.ptr(node.out(0)), Arg.i64(planes), Arg.i64(c), Arg.i64(m));
            return ctx -> {
                s.run();
                y.run();
            };
        });
        // (x, gamma, dy) -> (dx, dscale, dbias)
        r.register(InstanceNorm2dBackward.class, (op, node) -> {
            Shape x = node.inShape(0);
            long planes = (long) x.dim(0) * x.dim(1), c = x.dim(1), m = (long) x.dim(2) * x.dim(3);
            long stats = node.scratch(32 * planes);
            Launch s = stats(node, stats, true, planes, m, op.eps());
            // stride_instance_norm_dx(const float* x, const float* gamma, const float* dy, const double* stats,
            //                         float* dx, long long planes, long long c, long long m)
            Launch dx = node.launch("stride_instance_norm_dx", planes * m, Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                    Arg.ptr(node.in(2)), Arg.ptr(stats), Arg.ptr(node.out(0)), Arg.i64(planes), Arg.i64(c), Arg.i64(m));
            // stride_instance_norm_params(const double* stats, float* dscale, float* dbias, long long planes, long long c)
            Launch params = node.launch("stride_instance_norm_params", c, Arg.ptr(stats), Arg.ptr(node.out(1)),
                    Arg.ptr(node.out(2)), Arg.i64(planes), Arg.i64(c));
            return ctx -> {
                s.run();
                dx.run();
                params.run();
            };
        });
    }

    private static Launch stats(CudaNode node, long stats, boolean withDy, long planes, long m, double eps) {
        // stride_instance_stats(const float* x, const float* dy, int withDy, double* stats, long long planes,
        //                       long long m, double eps); without dy, x stands in for the unread pointer
        return node.launch("stride_instance_stats", planes, Arg.ptr(node.in(0)), Arg.ptr(node.in(withDy ? 2 : 0)),
                Arg.i32(withDy ? 1 : 0), Arg.ptr(stats), Arg.i64(planes), Arg.i64(m), Arg.f64(eps));
    }

    // ---- LRN ----

    private static void registerLrn(CudaKernelRegistry r) {
        r.register(Lrn.class, (op, node) -> {
            Shape x = node.inShape(0);
            long n = x.dim(0), c = x.dim(1), inner = x.size() / Math.max(1, n * c);
            // stride_lrn(const float* x, float* y, long long n, long long c, long long inner, int size, int before,
            //            double alpha, double beta, double bias)
            Launch l = node.launch("stride_lrn", x.size(), Arg.ptr(node.in(0)), Arg.ptr(node.out(0)), Arg.i64(n),
                    Arg.i64(c), Arg.i64(inner), Arg.i32(op.size()), Arg.i32(op.before()), Arg.f64(op.alpha()),
                    Arg.f64(op.beta()), Arg.f64(op.bias()));
            return ctx -> l.run();
        });
        // (x, dy) -> dx
        r.register(LrnBackward.class, (op, node) -> {
            Lrn f = op.forward();
            Shape x = node.inShape(0);
            long n = x.dim(0), c = x.dim(1), inner = x.size() / Math.max(1, n * c);
            long d = node.scratch(8 * Math.max(1, x.size())), t = node.scratch(8 * Math.max(1, x.size()));
            // stride_lrn_backward_terms(const float* x, const float* dy, double* d, double* t, long long n, long long c,
            //                           long long inner, int size, int before, double alpha, double beta, double bias)
            Launch terms = node.launch("stride_lrn_backward_terms", x.size(), Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                    Arg.ptr(d), Arg.ptr(t), Arg.i64(n), Arg.i64(c), Arg.i64(inner), Arg.i32(f.size()),
                    Arg.i32(f.before()), Arg.f64(f.alpha()), Arg.f64(f.beta()), Arg.f64(f.bias()));
            // stride_lrn_backward(const float* x, const float* dy, const double* d, const double* t, float* dx,
            //                     long long n, long long c, long long inner, int size, int before, double alpha,
            //                     double beta)
            Launch dx = node.launch("stride_lrn_backward", x.size(), Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                    Arg.ptr(d), Arg.ptr(t), Arg.ptr(node.out(0)), Arg.i64(n), Arg.i64(c), Arg.i64(inner),
                    Arg.i32(f.size()), Arg.i32(f.before()), Arg.f64(f.alpha()), Arg.f64(f.beta()));
            return ctx -> {
                terms.run();
                dx.run();
            };
        });
    }
}
