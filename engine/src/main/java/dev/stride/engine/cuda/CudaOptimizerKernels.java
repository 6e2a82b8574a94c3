package dev.stride.engine.cuda;

import dev.stride.engine.ChunkedOrder;
import dev.stride.graph.op.AdamUpdate;
import dev.stride.graph.op.GlobalNormScale;
import dev.stride.graph.op.RmsPropUpdate;
import dev.stride.graph.op.SgdUpdate;

/**
 * The optimizer family's cuda kernels (kernels/optimizer.cu): SgdUpdate, AdamUpdate (Adam and AdamW), RmsPropUpdate
 * (plain, momentum, centered) and GlobalNormScale, with TrainKernels' formulas in its order of operations. The
 * learning rate and Adam's step count are read from their scalar inputs on the device at every run.
 *
 * <p>Each factory prepares its launch once; the kernel only runs it. The C signature of each kernel is repeated
 * above its launch: the argument kinds must match it.
 */
final class CudaOptimizerKernels {
    private CudaOptimizerKernels() {}

    static final String SOURCE = "optimizer.cu";

    static void register(CudaKernelRegistry r) {
        r.source(SOURCE);
        r.register(SgdUpdate.class, (op, node) -> {
            long n = node.outShape(0).size();
            // stride_sgd_update(const float* p, const float* v, const float* g, const float* lr, float* p_out,
            //                   float* v_out, long long n, double mu, double wd, int nesterov)
            Launch l = node.launch("stride_sgd_update", n, Arg.ptr(node.in(0)), Arg.ptr(node.in(1)), Arg.ptr(node.in(2)),
                    Arg.ptr(node.in(3)), Arg.ptr(node.out(0)), Arg.ptr(node.out(1)), Arg.i64(n), Arg.f64(op.momentum()),
                    Arg.f64(op.weightDecay()), Arg.i32(op.nesterov() ? 1 : 0));
            return ctx -> l.run();
        });
        r.register(AdamUpdate.class, (op, node) -> {
            long n = node.outShape(0).size();
            // stride_adam_update(const float* p, const float* m, const float* v, const float* g, const float* lr,
            //                    const float* t, float* p_out, float* m_out, float* v_out, long long n, double b1,
            //                    double b2, double eps, double wd, int decoupled)
            Launch l = node.launch("stride_adam_update", n, Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                    Arg.ptr(node.in(2)), Arg.ptr(node.in(3)), Arg.ptr(node.in(4)), Arg.ptr(node.in(5)),
                    Arg.ptr(node.out(0)), Arg.ptr(node.out(1)), Arg.ptr(node.out(2)), Arg.i64(n), Arg.f64(op.beta1()),
                    Arg.f64(op.beta2()), Arg.f64(op.eps()), Arg.f64(op.weightDecay()), Arg.i32(op.decoupled() ? 1 : 0));
            return ctx -> l.run();
        });
        r.register(RmsPropUpdate.class, (op, node) -> {
            long n = node.outShape(0).size();
            boolean momentum = op.momentum() > 0, centered = op.centered();
            // Inputs p, sq, [buf], [avg], g, lr; outputs p', sq', [buf'], [avg']. An absent state gets the square
            // average's buffers: the kernel never touches it (a pointer must still be a valid device address).
            int buf = momentum ? 2 : 1, avg = centered ? (momentum ? 3 : 2) : 1, grad = op.states() + 1;
            // stride_rmsprop_update(const float* p, const float* sq, const float* buf, const float* avg,
            //                       const float* g, const float* lr, float* p_out, float* sq_out, float* buf_out,
            //                       float* avg_out, long long n, double alpha, double eps, double mu, double wd,
            //                       int momentum, int centered)
            Launch l = node.launch("stride_rmsprop_update", n, Arg.ptr(node.in(0)), Arg.ptr(node.in(1)),
                    Arg.ptr(node.in(buf)), Arg.ptr(node.in(avg)), Arg.ptr(node.in(grad)), Arg.ptr(node.in(grad + 1)),
                    Arg.ptr(node.out(0)), Arg.ptr(node.out(1)), Arg.ptr(node.out(buf)), Arg.ptr(node.out(avg)),
                    Arg.i64(n), Arg.f64(op.alpha()), Arg.f64(op.eps()), Arg.f64(op.momentum()),
                    Arg.f64(op.weightDecay()), Arg.i32(momentum ? 1 : 0), Arg.i32(centered ? 1 : 0));
            return ctx -> l.run();
        });
        r.register(GlobalNormScale.class, (op, node) -> {
            // In ChunkedOrder: the sums of squares of every chunk of every gradient, then one thread adds them.
            int count = node.inputs();
            long[] table = new long[2 * count];   // [addresses, sizes]
            long[] first = new long[count + 1];   // gradient k's chunks are first[k] .. first[k + 1)
            for (int k = 0; k < count; k++) {
                table[k] = node.in(k);
                table[count + k] = node.inShape(k).size();
                first[k + 1] = first[k] + ChunkedOrder.chunks(table[count + k]);
            }
            long parts = first[count], part = node.scratch(8L * parts);
            // stride_global_norm_chunks(const long long* table, int count, const long long* first, double* part,
            //                           long long parts, long long chunk)
            Launch chunks = node.launch("stride_global_norm_chunks", parts, Arg.ptr(node.upload(table)),
                    Arg.i32(count), Arg.ptr(node.upload(first)), Arg.ptr(part), Arg.i64(parts),
                    Arg.i64(ChunkedOrder.CHUNK));
            // stride_global_norm_scale(const double* part, long long parts, float* y, double max_norm, double eps)
            Launch scale = node.launch("stride_global_norm_scale", 1, Arg.ptr(part), Arg.i64(parts),
                    Arg.ptr(node.out(0)), Arg.f64(op.maxNorm()), Arg.f64(GlobalNormScale.EPS));
            return ctx -> {
                chunks.run();
                scale.run();
            };
        });
    }
}
