package dev.stride.engine.cuda;

import dev.stride.cuda.cublas.Cublas;
import dev.stride.cuda.cudart.Cudart;
import dev.stride.cuda.cudnn.Cudnn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.stride.engine.cuda.CudaCalls.cublas;
import static dev.stride.engine.cuda.CudaCalls.cuda;
import static dev.stride.engine.cuda.CudaCalls.cudnn;

/**
 * One device, one non-blocking stream, and the cuBLAS and cuDNN handles bound to that stream: everything a
 * program enqueues goes to this stream, in order. Owned by one thread at a time, like a session. Created only when
 * {@link dev.stride.cuda.CudaLibraries#require()} succeeded.
 */
final class CudaContext implements AutoCloseable {
    final int device;
    /** cudaStream_t; NULL until created. */
    final MemorySegment stream;
    final MemorySegment cublasHandle;
    final MemorySegment cudnnHandle;
    /** alpha = 1, beta = 0 for GEMMs (host pointer mode), allocated once. */
    private final Arena arena = Arena.ofShared();
    final MemorySegment one;
    final MemorySegment zero;

    CudaContext(int device) {
        this.device = device;
        MemorySegment s = MemorySegment.NULL, b = MemorySegment.NULL, d = MemorySegment.NULL;
        try {
            cuda(Cudart.cudaSetDevice(device), "cudaSetDevice(" + device + ")");
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            cuda(Cudart.cudaStreamCreateWithFlags(out, Cudart.cudaStreamNonBlocking()), "cudaStreamCreateWithFlags");
            s = out.get(ValueLayout.ADDRESS, 0);
            cublas(Cublas.cublasCreate_v2(out), "cublasCreate_v2");
            b = out.get(ValueLayout.ADDRESS, 0);
            cublas(Cublas.cublasSetStream_v2(b, s), "cublasSetStream_v2");
            cudnn(Cudnn.cudnnCreate(out), "cudnnCreate");
            d = out.get(ValueLayout.ADDRESS, 0);
            cudnn(Cudnn.cudnnSetStream(d, s), "cudnnSetStream");
        } catch (RuntimeException e) {
            release(s, b, d);
            arena.close();
            throw e;
        }
        stream = s;
        cublasHandle = b;
        cudnnHandle = d;
        one = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1f);
        zero = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 0f);
    }

    /** Waits for everything enqueued on the stream. */
    void synchronize() { cuda(Cudart.cudaStreamSynchronize(stream), "cudaStreamSynchronize"); }

    /**
     * Row-major C[m][n] = A[m][k] · B[k][n] on device pointers, enqueued on the stream. cuBLAS is column-major:
     * a row-major matrix is its transpose in column-major, so it computes C^T = B^T · A^T with the operands swapped.
     */
    void sgemmRowMajor(int m, int n, int k, MemorySegment a, MemorySegment b, MemorySegment c) {
        cublas(Cublas.cublasSgemm_v2(cublasHandle, Cublas.CUBLAS_OP_N(), Cublas.CUBLAS_OP_N(), n, m, k,
                one, b, n, a, k, zero, c, n), "cublasSgemm_v2");
    }

    private static void release(MemorySegment s, MemorySegment b, MemorySegment d) {
        // Best effort in reverse order of creation; a failure here must not hide the original error.
        if (d.address() != 0) Cudnn.cudnnDestroy(d);
        if (b.address() != 0) Cublas.cublasDestroy_v2(b);
        if (s.address() != 0) Cudart.cudaStreamDestroy(s);
    }

    @Override public void close() {
        try {
            Cudart.cudaStreamSynchronize(stream);
        } finally {
            release(stream, cublasHandle, cudnnHandle);
            arena.close();
        }
    }
}
