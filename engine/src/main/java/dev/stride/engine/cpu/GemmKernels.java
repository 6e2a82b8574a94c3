package dev.stride.engine.cpu;

import dev.stride.graph.Shape;
import dev.stride.graph.op.MatMul;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * MatMul (transposes, batched) and Dense on {@link Sgemm}. A batch of products each too small to be worth a second
 * thread is split over the workers by product, each on its worker's single-threaded GEMM; otherwise each product
 * is one multi-threaded {@link CpuRuntime#gemm} call from the run loop's thread. Either way every output element is
 * accumulated by one thread in the GEMM's fixed order, so the result does not depend on the thread count.
 */
final class GemmKernels {
    private GemmKernels() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final VectorSpecies<Float> S = PoolKernels.S;   // a constant: see PoolKernels.S

    static CpuKernel matMul(MatMul op, CpuNode node) {
        Shape as = node.inShape(0), bs = node.inShape(1);
        MatMul.Dims d = MatMul.dims(as, bs, op.transA(), op.transB());
        int batch = d.batch(), m = d.m(), k = d.k(), n = d.n();
        if ((long) batch * m * n == 0) return ctx -> { };
        MemorySegment a = node.in(0), b = node.in(1), c = node.out(0);
        // Stored row widths: A is [M, K], or [K, M] when transposed; B is [K, N], or [N, K]. At least 1 for K = 0.
        int lda = Math.max(1, op.transA() ? m : k), ldb = Math.max(1, op.transB() ? k : n);
        Sgemm.Matrix[] aOps = new Sgemm.Matrix[batch], bOps = new Sgemm.Matrix[batch];
        for (int t = 0; t < batch; t++) {
            aOps[t] = new Sgemm.Matrix(a, (long) t * m * k, lda, op.transA());
            bOps[t] = new Sgemm.Matrix(b, (long) t * k * n, ldb, op.transB());
        }
        long each = 2L * m * n * k, mn = (long) m * n;
        CpuRuntime rt = node.runtime();
        if (batch > 1 && each < CpuRuntime.MIN_FLOP_PER_THREAD) {
            return ctx -> rt.parallelFor(batch, each * batch, (w, from, to) -> {
                Sgemm g = rt.gemmOf(w);
                for (int t = from; t < to; t++) g.multiply(m, n, k, 1f, aOps[t], bOps[t], 0f, c, t * mn, n);
            });
        }
        return ctx -> {
            for (int t = 0; t < batch; t++) rt.gemm(m, n, k, 1f, aOps[t], bOps[t], 0f, c, t * mn, n);
        };
    }

    static CpuKernel dense(CpuNode node, boolean simd) {
        return new DenseKernel(node, simd);
    }

    /**
     * y = x w^T (+ b): x [N, K] is op(A), w [M, K] stored is op(B)^T. The weight is packed into the GEMM's panel
     * layout once and reused while it does not change ({@link CpuNode#watch}); the bias is added row by row after
     * the GEMM.
     *
     * <p>A weight that changes on consecutive runs (a training step updates it every run, and a weight that is not
     * persistent always counts as changed) is not packed ahead: the GEMM then packs its panels into its own scratch
     * during the call, as it must anyway, instead of this kernel allocating a new K x M packed copy every step.
     */
    private static final class DenseKernel implements CpuKernel {
        private final CpuRuntime rt;
        private final CpuNode.Watch weightWatch;
        private final int rows, k, m;
        private final MemorySegment y, bias;
        private final Sgemm.Matrix x, wt;
        private final boolean simd;
        private Sgemm.PackedB packed;
        private int changesInARow;

        DenseKernel(CpuNode node, boolean simd) {
            Shape xs = node.inShape(0), ws = node.inShape(1);
            this.rt = node.runtime();
            this.rows = xs.dim(0);
            this.k = xs.dim(1);
            this.m = ws.dim(0);
            this.y = node.out(0);
            this.bias = node.inputs() == 3 ? node.in(2) : null;
            this.x = Sgemm.Matrix.of(node.in(0), 0, Math.max(1, k));
            this.wt = Sgemm.Matrix.transposed(node.in(1), 0, Math.max(1, k));
            this.weightWatch = node.watch(1);
            this.simd = simd;
        }

        @Override public void run(dev.stride.engine.RunContext ctx) {
            if (rows == 0 || m == 0) return;
            if (weightWatch.changed()) {
                packed = null;
                changesInARow++;
            } else {
                changesInARow = 0;
            }
            if (k == 0) {
                FloatRuns.fill(y, 0, (long) rows * m, 0f, simd);
            } else {
                if (packed == null && changesInARow <= 1) packed = rt.gemmGeometry().packB(wt, k, m);
                rt.gemm(rows, m, k, 1f, x, packed != null ? packed : wt, 0f, y, 0, m);
            }
            if (bias != null) for (int r = 0; r < rows; r++) addBias((long) r * m);
        }

        /** y[at, at + m) += b. */
        private void addBias(long at) {
            int j = 0;
            if (simd) {
                for (int step = S.length(); j <= m - step; j += step) {
                    long yb = (at + j) * Float.BYTES;
                    FloatVector.fromMemorySegment(S, y, yb, NATIVE)
                            .add(FloatVector.fromMemorySegment(S, bias, (long) j * Float.BYTES, NATIVE))
                            .intoMemorySegment(y, yb, NATIVE);
                }
            }
            for (; j < m; j++) y.setAtIndex(F, at + j, y.getAtIndex(F, at + j) + bias.getAtIndex(F, j));
        }
    }
}
