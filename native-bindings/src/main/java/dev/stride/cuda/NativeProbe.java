package dev.stride.cuda;

import dev.stride.cuda.cublas.Cublas;
import dev.stride.cuda.cudart.Cudart;
import dev.stride.cuda.cudnn.Cudnn;
import dev.stride.cuda.driver.CudaDriver;
import dev.stride.cuda.nvrtc.Nvrtc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Set;

/**
 * {@link CudaProbe} through the generated bindings. Only created after the libraries it calls were loaded with
 * {@link LibraryLoader#system()}; each method checks that its library is among them, because a generated binding
 * called before its library is loaded fails its holder class's initialisation for good.
 */
final class NativeProbe implements CudaProbe {
    private final Set<CudaLibrary> loaded;

    NativeProbe(Set<CudaLibrary> loaded) { this.loaded = Set.copyOf(loaded); }

    private interface IntOut { int call(MemorySegment out); }

    private Result intCall(CudaLibrary lib, IntOut call) {
        if (!loaded.contains(lib)) throw new IllegalStateException(lib.what + " is not loaded");
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.JAVA_INT);
            int status = call.call(out);
            return status == 0 ? Result.ok(out.get(ValueLayout.JAVA_INT, 0)) : Result.error(status);
        }
    }

    @Override public Result runtimeVersion() { return intCall(CudaLibrary.CUDART, Cudart::cudaRuntimeGetVersion); }

    @Override public Result driverVersion() { return intCall(CudaLibrary.CUDART, Cudart::cudaDriverGetVersion); }

    @Override public Result deviceCount() { return intCall(CudaLibrary.CUDART, Cudart::cudaGetDeviceCount); }

    @Override public String describeError(int status) {
        if (!loaded.contains(CudaLibrary.CUDART)) return "CUDA error " + status;
        return Cudart.cudaGetErrorName(status).getString(0) + " (" + Cudart.cudaGetErrorString(status).getString(0) + ")";
    }

    @Override public Result computeCapability(int device) {
        Result major = intCall(CudaLibrary.CUDART,
                out -> Cudart.cudaDeviceGetAttribute(out, Cudart.cudaDevAttrComputeCapabilityMajor(), device));
        if (!major.ok()) return major;
        Result minor = intCall(CudaLibrary.CUDART,
                out -> Cudart.cudaDeviceGetAttribute(out, Cudart.cudaDevAttrComputeCapabilityMinor(), device));
        return minor.ok() ? Result.ok(10 * major.value() + minor.value()) : minor;
    }

    @Override public Result multiprocessors(int device) {
        return intCall(CudaLibrary.CUDART,
                out -> Cudart.cudaDeviceGetAttribute(out, Cudart.cudaDevAttrMultiProcessorCount(), device));
    }

    /** The driver API needs cuInit once; it is cheap after the runtime initialised the driver. */
    private int driverDevice(int device) {
        if (!loaded.contains(CudaLibrary.DRIVER)) return -1;
        if (CudaDriver.cuInit(0) != 0) return -1;
        Result d = intCall(CudaLibrary.DRIVER, out -> CudaDriver.cuDeviceGet(out, device));
        return d.ok() ? (int) d.value() : -1;
    }

    @Override public String deviceName(int device) {
        int d = driverDevice(device);
        if (d < 0) return "<name unknown: driver API unavailable>";
        try (Arena a = Arena.ofConfined()) {
            MemorySegment name = a.allocate(256);
            int status = CudaDriver.cuDeviceGetName(name, 256, d);
            return status == 0 ? name.getString(0) : "<name unknown: cuDeviceGetName returned " + status + ">";
        }
    }

    @Override public long totalMemory(int device) {
        int d = driverDevice(device);
        if (d < 0) return -1;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment bytes = a.allocate(ValueLayout.JAVA_LONG);
            return CudaDriver.cuDeviceTotalMem_v2(bytes, d) == 0 ? bytes.get(ValueLayout.JAVA_LONG, 0) : -1;
        }
    }

    @Override public long cudnnVersion() {
        return loaded.contains(CudaLibrary.CUDNN) ? Cudnn.cudnnGetVersion() : -1;
    }

    @Override public long cudnnCudartVersion() {
        return loaded.contains(CudaLibrary.CUDNN) ? Cudnn.cudnnGetCudartVersion() : -1;
    }

    @Override public int nvrtcVersion() {
        if (!loaded.contains(CudaLibrary.NVRTC)) return -1;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment major = a.allocate(ValueLayout.JAVA_INT), minor = a.allocate(ValueLayout.JAVA_INT);
            if (Nvrtc.nvrtcVersion(major, minor) != 0) return -1;
            return 1000 * major.get(ValueLayout.JAVA_INT, 0) + 10 * minor.get(ValueLayout.JAVA_INT, 0);
        }
    }

    @Override public String cublasVersion() {
        if (!loaded.contains(CudaLibrary.CUBLAS)) return null;
        int[] v = new int[3];
        int[] props = {Cublas.MAJOR_VERSION(), Cublas.MINOR_VERSION(), Cublas.PATCH_LEVEL()};
        for (int i = 0; i < 3; i++) {
            int prop = props[i];
            Result r = intCall(CudaLibrary.CUBLAS, out -> Cublas.cublasGetProperty(prop, out));
            if (!r.ok()) return "<cublasGetProperty returned " + r.status() + ">";
            v[i] = (int) r.value();
        }
        return v[0] + "." + v[1] + "." + v[2];
    }
}
