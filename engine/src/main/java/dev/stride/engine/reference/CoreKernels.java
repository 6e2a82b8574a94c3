package dev.stride.engine.reference;

import dev.stride.graph.Shape;
import dev.stride.graph.op.Affine;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.BroadcastTo;
import dev.stride.graph.op.Fill;
import dev.stride.graph.op.SumTo;

/** Kernels of the ops autodiff itself relies on: fills, broadcasting arithmetic and its adjoint. */
final class CoreKernels {
    private CoreKernels() {}

    static void register(KernelRegistry r) {
        r.register(Fill.class, (op, node) -> (in, out, ctx) -> out[0].fill(op.value()));
        r.register(Affine.class, (op, node) -> (in, out, ctx) -> {
            double a = op.scale(), b = op.shift();
            for (long i = 0, n = out[0].length(); i < n; i++) out[0].set(i, a * in[0].get(i) + b);
        });
        r.register(Binary.class, (op, node) -> {
            Shape o = node.output().shape();
            long[] ia = Indexing.gatherIndex(o, Indexing.broadcastStrides(node.inputs().get(0).shape(), o));
            long[] ib = Indexing.gatherIndex(o, Indexing.broadcastStrides(node.inputs().get(1).shape(), o));
            return switch (op.op()) {
                case ADD -> (in, out, ctx) -> { for (int i = 0; i < ia.length; i++) out[0].set(i, in[0].get(ia[i]) + in[1].get(ib[i])); };
                case SUB -> (in, out, ctx) -> { for (int i = 0; i < ia.length; i++) out[0].set(i, in[0].get(ia[i]) - in[1].get(ib[i])); };
                case MUL -> (in, out, ctx) -> { for (int i = 0; i < ia.length; i++) out[0].set(i, in[0].get(ia[i]) * in[1].get(ib[i])); };
                case DIV -> (in, out, ctx) -> { for (int i = 0; i < ia.length; i++) out[0].set(i, in[0].get(ia[i]) / in[1].get(ib[i])); };
                case POW -> (in, out, ctx) -> { for (int i = 0; i < ia.length; i++) out[0].set(i, Math.pow(in[0].get(ia[i]), in[1].get(ib[i]))); };
                case MAX -> (in, out, ctx) -> { for (int i = 0; i < ia.length; i++) out[0].set(i, Math.max(in[0].get(ia[i]), in[1].get(ib[i]))); };
                case MIN -> (in, out, ctx) -> { for (int i = 0; i < ia.length; i++) out[0].set(i, Math.min(in[0].get(ia[i]), in[1].get(ib[i]))); };
            };
        });
        r.register(BroadcastTo.class, (op, node) -> {
            Shape o = node.output().shape();
            long[] src = Indexing.gatherIndex(o, Indexing.broadcastStrides(node.inputs().getFirst().shape(), o));
            return (in, out, ctx) -> { for (int i = 0; i < src.length; i++) out[0].set(i, in[0].get(src[i])); };
        });
        r.register(SumTo.class, (op, node) -> {
            Shape from = node.inputs().getFirst().shape();
            long[] dst = Indexing.gatherIndex(from, Indexing.broadcastStrides(node.output().shape(), from));
            double[] acc = new double[Math.toIntExact(node.output().shape().size())]; // double accumulator, bound once
            return (in, out, ctx) -> {
                java.util.Arrays.fill(acc, 0);
                for (int i = 0; i < dst.length; i++) acc[(int) dst[i]] += in[0].get(i);
                for (int i = 0; i < acc.length; i++) out[0].set(i, acc[i]);
            };
        });
    }
}
