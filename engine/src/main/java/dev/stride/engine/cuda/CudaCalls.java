package dev.stride.engine.cuda;

import dev.stride.cuda.cublas.Cublas;
import dev.stride.cuda.cudart.Cudart;
import dev.stride.cuda.cudnn.Cudnn;
import dev.stride.cuda.driver.CudaDriver;
import dev.stride.cuda.nvrtc.Nvrtc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Turns CUDA (runtime and driver API), NVRTC, cuBLAS and cuDNN status codes into exceptions that name the call and the library's own words for the
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

    /** A driver API status (CUresult): its name and description from cuGetErrorName / cuGetErrorString. */
    static void driver(int status, String call) {
        if (status != 0) throw new CudaException(call + " failed: " + driverError(status), status);
    }

    static String driverError(int status) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment name = a.allocate(ValueLayout.ADDRESS), text = a.allocate(ValueLayout.ADDRESS);
            if (CudaDriver.cuGetErrorName(status, name) != 0) return "CUresult " + status;
            String s = name.get(ValueLayout.ADDRESS, 0).reinterpret(Long.MAX_VALUE).getString(0);
            if (CudaDriver.cuGetErrorString(status, text) == 0)
                s += " (" + text.get(ValueLayout.ADDRESS, 0).reinterpret(Long.MAX_VALUE).getString(0) + ")";
            return s;
        }
    }

    static void nvrtc(int status, String call) {
        if (status != 0)
            throw new CudaException(call + " failed: " + Nvrtc.nvrtcGetErrorString(status).reinterpret(Long.MAX_VALUE)
                    .getString(0), status);
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
