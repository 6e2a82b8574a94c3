package dev.stride.onnx;

import dev.stride.graph.Value;
import dev.stride.graph.op.Affine;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.BroadcastTo;
import dev.stride.graph.op.Dense;
import dev.stride.graph.op.MatMul;

import java.util.Arrays;
import java.util.Map;

/** Gemm and MatMul (NumPy semantics: 1-D operands, broadcast batch dimensions). */
final class MatOps {
    private MatOps() {}

    static void register(Map<String, OpSpec> t) {
        t.put("Gemm", new OpSpec(MatOps::gemm, OpSpec.StaticInputs.NONE));
        t.put("MatMul", new OpSpec(MatOps::matmul, OpSpec.StaticInputs.NONE));
    }

    /**
     * Y = alpha * op(A) op(B) + beta * C. The common fully connected layer (A an activation, B a constant, C of
     * shape [N] or absent, alpha = beta = 1, no transA) becomes the IR's Dense with B laid out [N, K] at import
     * time; everything else is MatMul, Affine for alpha and beta, and a broadcasting Add.
     */
    private static void gemm(NodeContext c) {
        for (int i = 0; i < 3; i++) if (c.has(i)) ElementwiseOps.requireFloat(c, i);
        double alpha = c.attrFloat("alpha", 1), beta = c.attrFloat("beta", 1);
        boolean transA = c.attrInt("transA", 0) != 0, transB = c.attrInt("transB", 0) != 0;
        if (c.opset < 7) c.attrInt("broadcast", 0);   // C broadcasts in every version we map
        long[] a = c.dims(0), b = c.dims(1);
        if (a.length != 2 || b.length != 2)
            throw c.invalid("A %s and B %s must be 2-D", Arrays.toString(a), Arrays.toString(b));
        long n = transB ? b[0] : b[1];
        if (c.opset < 11 && !c.has(2)) throw c.invalid("input C is required before opset 11");
        boolean hasC = c.has(2) && beta != 0;
        long[] cd = hasC ? c.dims(2) : null;
        boolean vectorBias = cd == null || (Lowering.product(cd, 0, cd.length) == n && cd.length >= 1
                && cd[cd.length - 1] == n);
        if (!transA && !c.isConst(0) && c.isConst(1) && alpha == 1 && (beta == 1 || !hasC) && vectorBias) {
            ConstTensor w = c.constant(1);
            if (!transB) w = Fold.transpose(w, new int[] {1, 0}, w.name, c.budget());
            Value x = c.value(0), wv = c.imp.param(w, c.where());
            if (!hasC) {
                c.output(0, c.apply(null, new Dense(), x, wv));
                return;
            }
            Value bias = Lowering.reshape(c, "bias", c.value(2), (int) n);
            c.output(0, c.apply(null, new Dense(), x, wv, bias));
            return;
        }
        Value y = c.apply(alpha == 1 && !hasC ? null : "matmul", new MatMul(transA, transB), c.value(0), c.value(1));
        if (alpha != 1) y = c.apply(hasC ? "alpha" : null, new Affine(alpha, 0), y);
        if (hasC) {
            Value cv;
            if (beta == 1) cv = c.value(2);
            else if (c.isConst(2)) cv = c.imp.param(ElementwiseOps.foldUnary(c, c.constant(2), v -> v * beta), c.where());
            else cv = c.apply("beta", new Affine(beta, 0), c.value(2));
            y = c.apply(null, new Binary(Binary.Kind.ADD), y, cv);
        }
        c.output(0, y);
    }

    /**
     * NumPy matmul: a 1-D A is [1, K] and a 1-D B is [K, 1] (the added axis removed afterwards); with a 2-D B the
     * leading dimensions of A fold into its rows; otherwise the batch dimensions broadcast and the product is the
     * IR's batched (rank-3) MatMul.
     */
    private static void matmul(NodeContext c) {
        ElementwiseOps.requireFloat(c, 0);
        ElementwiseOps.requireFloat(c, 1);
        Value a = c.value(0), b = c.value(1);
        int[] ad = a.shape().dims(), bd = b.shape().dims();
        if (ad.length == 0 || bd.length == 0) throw c.invalid("operands must have rank >= 1, got %s and %s",
                Arrays.toString(ad), Arrays.toString(bd));
        boolean vecA = ad.length == 1, vecB = bd.length == 1;
        if (vecA) ad = new int[] {1, ad[0]};
        if (vecB) bd = new int[] {bd[0], 1};
        int m = ad[ad.length - 2], k = ad[ad.length - 1], kb = bd[bd.length - 2], n = bd[bd.length - 1];
        if (k != kb) throw c.invalid("inner dimensions differ: A %s, B %s", Arrays.toString(c.dims(0)), Arrays.toString(c.dims(1)));
        int[] batchA = Arrays.copyOf(ad, ad.length - 2), batchB = Arrays.copyOf(bd, bd.length - 2);
        long[] batch = Fold.broadcast(Lowering.longs(batchA), Lowering.longs(batchB));
        if (batch == null) throw c.invalid("batch dimensions %s and %s do not broadcast", Arrays.toString(batchA),
                Arrays.toString(batchB));
        int[] bt = Lowering.ints(c, batch);
        int p = Lowering.product(bt, 0, bt.length);
        Value y;
        if (batchB.length == 0) {   // [..., M, K] x [K, N]: one 2-D product over all rows of A
            Value a2 = Lowering.reshape(c, "a_2d", a, Lowering.product(ad, 0, ad.length - 1), k);
            Value b2 = Lowering.reshape(c, "b_2d", b, k, n);
            y = c.apply("matmul", new MatMul(false, false), a2, b2);
        } else {
            Value a3 = batched(c, "a", a, ad, bt, p, m, k);
            Value b3 = batched(c, "b", b, bd, bt, p, k, n);
            y = c.apply("matmul", new MatMul(false, false), a3, b3);
        }
        // The batch, then M unless A was a vector, then N unless B was one.
        int[] out = Arrays.copyOf(bt, bt.length + 2);
        int len = bt.length;
        if (!vecA) out[len++] = m;
        if (!vecB) out[len++] = n;
        out = Arrays.copyOf(out, len);
        c.output(0, Lowering.reshapeOut(c, y, out));
    }

    /** x (dims d) broadcast to [batch..., r, s] and viewed as [p, r, s]. */
    private static Value batched(NodeContext c, String which, Value x, int[] d, int[] batch, int p, int r, int s) {
        int[] full = Arrays.copyOf(batch, batch.length + 2);
        full[batch.length] = r;
        full[batch.length + 1] = s;
        Value v = Lowering.reshape(c, which + "_matrix", x, d);
        if (!Arrays.equals(d, full)) {
            int[] padded = new int[full.length];   // align ranks before broadcasting
            Arrays.fill(padded, 1);
            System.arraycopy(d, 0, padded, full.length - d.length, d.length);
            v = Lowering.reshape(c, which + "_rank", v, padded);
            if (!Arrays.equals(padded, full)) v = c.apply(which + "_broadcast", new BroadcastTo(full), v);
        }
        return Lowering.reshape(c, which + "_3d", v, p, r, s);
    }
}
