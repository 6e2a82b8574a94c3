package dev.stride.cuda;

import java.util.Set;

/**
 * The native questions the locator asks once the libraries are loaded. An interface so that tests can answer them
 * (no driver, no device, old versions) on a machine without CUDA; {@link NativeProbe} asks the real libraries.
 * Every method answers, never throws for a CUDA error: a CUDA status is a {@link Result}.
 */
public interface CudaProbe {
    /** A CUDA call's status (0 = success) and, when it succeeded, its value. */
    record Result(int status, long value) {
        public static Result ok(long value) { return new Result(0, value); }
        public static Result error(int status) { return new Result(status, 0); }
        public boolean ok() { return status == 0; }
    }

    /** cudaRuntimeGetVersion: 1000 * major + 10 * minor. */
    Result runtimeVersion();

    /** cudaDriverGetVersion: the newest CUDA version the driver supports, 0 when there is no driver. */
    Result driverVersion();

    /** cudaGetDeviceCount. */
    Result deviceCount();

    /** cudaGetErrorName and cudaGetErrorString of a runtime status: "cudaErrorNoDevice (no CUDA-capable device is detected)". */
    String describeError(int status);

    /** Compute capability as 10 * major + minor (cudaDevAttrComputeCapabilityMajor/Minor). */
    Result computeCapability(int device);

    /** cudaDevAttrMultiProcessorCount. */
    Result multiprocessors(int device);

    /** The device's name from the driver API, or a reason in angle brackets when it cannot be asked. */
    String deviceName(int device);

    /** Total device memory in bytes from the driver API, or -1. */
    long totalMemory(int device);

    /** cudnnGetVersion (e.g. 92400 for 9.24.0), or -1 when cuDNN is not loaded. */
    long cudnnVersion();

    /** cudnnGetCudartVersion: the CUDA runtime version cuDNN was built for, or -1. */
    long cudnnCudartVersion();

    /** cuBLAS "major.minor.patch" from cublasGetProperty, or null when cuBLAS is not loaded. */
    String cublasVersion();

    /** nvrtcVersion as 1000 * major + 10 * minor, or -1 when NVRTC is not loaded. */
    int nvrtcVersion();

    /** Makes a probe for the libraries that were loaded. */
    interface Factory {
        CudaProbe create(Set<CudaLibrary> loaded);
    }
}
