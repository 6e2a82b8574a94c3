package dev.stride.engine.cuda;

import dev.stride.cuda.cublas.Cublas;
import dev.stride.graph.Shape;
import dev.stride.graph.op.Dense;
import dev.stride.graph.op.MatMul;

import java.lang.foreign.MemorySegment;

/**
 * The dense family's cuda kernels: Dense (y = x w^T + b) and MatMul (rank 2 or a batch of rank-3 products). Their
 * gradients are more MatMul nodes (Dense's: dy w and dy^T x), plus a SumTo for Dense's bias (the element-wise
 * family's).
 *
 * <p>On a GPU, cuBLAS SGEMM ({@link CublasGemm}, strided-batched for rank 3) through {@link RowMajorGemm}'s
 * operand swap; Dense's bias is written into y first ({@code stride_gemm_bias_rows}) and the product added to it
 * (beta = 1); with {@code -Dstride.cuda.tf32=true} the handle's math mode allows TF32. On the emulated device,
 * and for a node whose plan entry is {@value #DIRECT} (on a GPU too), the direct kernel of gemm.cu
 * ({@code stride_gemm}, bias included).
 */
final class CudaDenseKernels {
    private CudaDenseKernels() {}

    static final String SOURCE = "gemm.cu";
    /** The plan entry that forces the direct kernel; "" (or {@value #CUBLAS}) is cuBLAS on a GPU. */
    static final String DIRECT = "direct", CUBLAS = "cublas";

    static void register(CudaKernelRegistry r) {
        r.source(SOURCE);
        r.register(Dense.class, (op, node) -> {
            Shape x = node.inShape(0), w = node.inShape(1);
            int n = x.dim(0), k = x.dim(1), m = w.dim(0);
            long bias = node.inputs() == 3 ? node.in(2) : 0;
            return gemm(node, false, true, 1, n, m, k, node.in(0), node.in(1), bias, node.out(0));
        });
        r.register(MatMul.class, (op, node) -> {
            MatMul.Dims d = MatMul.dims(node.inShape(0), node.inShape(1), op.transA(), op.transB());
            return gemm(node, op.transA(), op.transB(), d.batch(), d.m(), d.n(), d.k(), node.in(0), node.in(1), 0,
                    node.out(0));
        });
    }

    /** Row-major c[batch][m][n] = op(a) op(b) (+ bias[j] on every row when bias != 0). */
    static CudaKernel gemm(CudaNode node, boolean transA, boolean transB, int batch, int m, int n, int k, long a,
                           long b, long bias, long c) {
        String entry = node.algorithm();
        if (!entry.isEmpty() && !entry.equals(DIRECT) && !entry.equals(CUBLAS))
            throw new IllegalArgumentException(node + ": not a cuda GEMM algorithm: '" + entry + "' (expected '', '"
                    + CUBLAS + "' or '" + DIRECT + "')");
        if (node.device() instanceof CudaDevice gpu && !entry.equals(DIRECT)) {
            CublasGemm blas = new CublasGemm(gpu.context().cublasHandle);
            // Float32 math unless TF32 is allowed, as for the convolutions (cuBLAS's default mode uses no TF32).
            if (CudnnEngines.Policy.fromSystemProperties().tf32())
                CudaCalls.cublas(Cublas.cublasSetMathMode(gpu.context().cublasHandle, Cublas.CUBLAS_TF32_TENSOR_OP_MATH()),
                        "cublasSetMathMode(TF32)");
            RowMajorGemm.Call call = RowMajorGemm.map(transA, transB, batch, m, n, k);
            MemorySegment pa = MemorySegment.ofAddress(a), pb = MemorySegment.ofAddress(b), pc = MemorySegment.ofAddress(c);
            if (bias == 0) return CudaKernel.named(CUBLAS, ctx -> RowMajorGemm.run(blas, call, 1f, pa, pb, 0f, pc));
            // stride_gemm_bias_rows(const float* bias, float* y, long long rows, long long cols)
            Launch fill = node.launch("stride_gemm_bias_rows", (long) batch * m * n, Arg.ptr(bias), Arg.ptr(c),
                    Arg.i64((long) batch * m), Arg.i64(n));
            return CudaKernel.named(CUBLAS, ctx -> {
                fill.run();
                RowMajorGemm.run(blas, call, 1f, pa, pb, 1f, pc);
            });
        }
        // stride_gemm(const float* a, const float* b, const float* bias, int hasBias, float* c, long long batch,
        //             long long m, long long n, long long k, int transA, int transB)
        // No null pointers in a launch: without a bias, b stands in for it (never read: hasBias = 0).
        Launch l = node.launch("stride_gemm", (long) batch * m * n, Arg.ptr(a), Arg.ptr(b), Arg.ptr(bias != 0 ? bias : b),
                Arg.i32(bias != 0 ? 1 : 0), Arg.ptr(c), Arg.i64(batch), Arg.i64(m), Arg.i64(n), Arg.i64(k),
                Arg.i32(transA ? 1 : 0), Arg.i32(transB ? 1 : 0));
        return CudaKernel.named(DIRECT, ctx -> l.run());
    }
}
