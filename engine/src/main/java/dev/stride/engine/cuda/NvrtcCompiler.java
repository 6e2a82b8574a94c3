package dev.stride.engine.cuda;

import dev.stride.cuda.CudaLibraries;
import dev.stride.cuda.CudaLibrary;
import dev.stride.cuda.CudaStatus;
import dev.stride.cuda.nvrtc.Nvrtc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static dev.stride.engine.cuda.CudaCalls.nvrtc;

/**
 * Compiles the kernel sources to PTX with NVRTC (no GPU needed), once per process for each source text and
 * architecture. Options: the device's virtual architecture ({@code compute_XY}: PTX, which the driver compiles for
 * the exact GPU when the module loads), every function a device function by default, IEEE float semantics (no
 * fast-math: NVRTC's default) and no contraction of multiply-add into FMA, so that a kernel computes what the
 * emulated device computes, operation for operation.
 */
public final class NvrtcCompiler {
    private NvrtcCompiler() {}

    private static final Map<String, byte[]> PTX = new ConcurrentHashMap<>();

    /** A compilation that failed: NVRTC's log, which names the kernel file and line (the unit has #line directives). */
    public static final class CompileException extends RuntimeException {
        public final String log;

        CompileException(String message, String log) {
            super(message);
            this.log = log;
        }
    }

    /** Null when NVRTC is loaded in this process ({@link CudaLibraries#system()}); otherwise why not. */
    public static String unavailableReason() {
        CudaStatus s = CudaLibraries.system();
        for (CudaLibrary lib : new CudaLibrary[] {CudaLibrary.NVRTC, CudaLibrary.NVRTC_BUILTINS}) {
            CudaStatus.LibraryStatus l = s.library(lib);
            if (l.state() != CudaStatus.State.LOADED)
                return lib.what + " is not loaded: " + (l.detail() == null || l.detail().isEmpty() ? l.state() : l.detail())
                        + " (set CUDA_HOME to a CUDA 13 install or the pip nvidia/cu13 folder)";
        }
        return null;
    }

    /** "13.0". */
    public static String version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment major = a.allocate(ValueLayout.JAVA_INT), minor = a.allocate(ValueLayout.JAVA_INT);
            nvrtc(Nvrtc.nvrtcVersion(major, minor), "nvrtcVersion");
            return major.get(ValueLayout.JAVA_INT, 0) + "." + minor.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** The options for a device of compute capability {@code cc} (10 * major + minor, e.g. 90). */
    public static List<String> options(int cc) {
        return List.of("--gpu-architecture=compute_" + cc, "--std=c++17", "--device-as-default-execution-space",
                "--fmad=false", "--generate-line-info");
    }

    /** PTX (NUL-terminated, as cuModuleLoadData wants it) for compute capability {@code cc}. */
    public static byte[] ptx(KernelSources sources, int cc) {
        String why = unavailableReason();
        if (why != null) throw new IllegalStateException(why);
        return PTX.computeIfAbsent(sources.hash() + "/" + cc, k -> compile(sources, options(cc)));
    }

    private static byte[] compile(KernelSources sources, List<String> options) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment progOut = a.allocate(ValueLayout.ADDRESS);
            nvrtc(Nvrtc.nvrtcCreateProgram(progOut, a.allocateFrom(sources.unit()), a.allocateFrom("stride_kernels.cu"),
                    0, MemorySegment.NULL, MemorySegment.NULL), "nvrtcCreateProgram");
            MemorySegment prog = progOut.get(ValueLayout.ADDRESS, 0);
            try {
                MemorySegment opts = a.allocate(ValueLayout.ADDRESS, options.size());
                for (int i = 0; i < options.size(); i++) opts.setAtIndex(ValueLayout.ADDRESS, i, a.allocateFrom(options.get(i)));
                int status = Nvrtc.nvrtcCompileProgram(prog, options.size(), opts);
                String log = log(a, prog);
                if (status != 0)
                    throw new CompileException("NVRTC could not compile the kernel sources " + sources.files() + " with "
                            + options + ": " + Nvrtc.nvrtcGetErrorString(status).getString(0) + "\n" + log.strip(), log);
                MemorySegment size = a.allocate(ValueLayout.JAVA_LONG);
                nvrtc(Nvrtc.nvrtcGetPTXSize(prog, size), "nvrtcGetPTXSize");
                MemorySegment ptx = a.allocate(size.get(ValueLayout.JAVA_LONG, 0));
                nvrtc(Nvrtc.nvrtcGetPTX(prog, ptx), "nvrtcGetPTX");
                return ptx.toArray(ValueLayout.JAVA_BYTE);
            } finally {
                Nvrtc.nvrtcDestroyProgram(progOut);
            }
        }
    }

    private static String log(Arena a, MemorySegment prog) {
        MemorySegment size = a.allocate(ValueLayout.JAVA_LONG);
        if (Nvrtc.nvrtcGetProgramLogSize(prog, size) != 0) return "(no log)";
        long n = size.get(ValueLayout.JAVA_LONG, 0);
        if (n <= 1) return "";
        MemorySegment log = a.allocate(n);
        if (Nvrtc.nvrtcGetProgramLog(prog, log) != 0) return "(no log)";
        return log.getString(0);
    }
}
