package dev.stride.engine.cuda;

import dev.stride.cuda.cublas.Cublas;
import dev.stride.cuda.cudart.Cudart;
import dev.stride.cuda.cudnn.Cudnn;

/**
 * Turns CUDA, cuBLAS and cuDNN status codes into exceptions that name the call and the library's own words for the
 * error. Call only after {@link dev.stride.cuda.CudaLibraries} loaded the library concerned.
 */
final class CudaCalls {
    private CudaCalls() {}

    /** A failed CUDA, cuBLAS or cuDNN call. */
    static final class CudaException extends RuntimeException {
        final int status;

        CudaException(String message, int status) {
            super(message);
            this.status = status;
        }
    }

    static void cuda(int status, String call) {
        if (status != 0)
            throw new CudaException(call + " failed: " + Cudart.cudaGetErrorName(status).getString(0) + " ("
                    + Cudart.cudaGetErrorString(status).getString(0) + ")", status);
    }

    static void cublas(int status, String call) {
        if (status != 0)
            throw new CudaException(call + " failed: " + Cublas.cublasGetStatusName(status).getString(0) + " ("
                    + Cublas.cublasGetStatusString(status).getString(0) + ")", status);
    }

    static void cudnn(int status, String call) {
        if (status != 0)
            throw new CudaException(call + " failed: " + Cudnn.cudnnGetErrorString(status).getString(0)
                    + " (status " + status + ")", status);
    }
}
