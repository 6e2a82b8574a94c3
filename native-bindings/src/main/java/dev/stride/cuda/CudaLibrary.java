package dev.stride.cuda;

import java.util.List;

/**
 * The native libraries the cuda backend needs, in the order they are loaded: each one's dependencies come before it,
 * so that when the dynamic linker meets a {@code DT_NEEDED} entry (libcublas.so.13 needs libcublasLt.so.13,
 * libcudnn_engines_*.so.9 need libcudnn_graph.so.9) the library is already loaded by soname and nothing is looked up
 * through paths we did not choose.
 *
 * @param baseName     file name without ".so.N"
 * @param what         human name for messages
 * @param majors       accepted sonames' major versions, preferred first (the bindings are pinned to CUDA 13)
 * @param tooOld       majors recognised only to say that they are too old
 * @param role         how the locator treats it
 * @param entryPoints  symbols a loaded library must export, checked through its own {@code SymbolLookup}
 */
public enum CudaLibrary {
    /** The driver: installed with the NVIDIA kernel module, never from a toolkit or a wheel. */
    DRIVER("libcuda", "NVIDIA driver (CUDA driver API)", List.of(1), List.of(), Role.DRIVER,
            List.of("cuInit", "cuDeviceGetName", "cuDeviceTotalMem_v2")),
    CUDART("libcudart", "CUDA runtime", List.of(13, 12), List.of(11, 10), Role.REQUIRED,
            List.of("cudaGetDeviceCount", "cudaRuntimeGetVersion", "cudaMalloc")),
    CUBLASLT("libcublasLt", "cuBLASLt (needed by cuBLAS)", List.of(13, 12), List.of(11), Role.REQUIRED,
            List.of("cublasLtCreate")),
    CUBLAS("libcublas", "cuBLAS", List.of(13, 12), List.of(11), Role.REQUIRED,
            List.of("cublasCreate_v2", "cublasSgemm_v2")),
    /**
     * Compiles the cuda backend's own kernels (CUDA C) to PTX when a session loads, and cuDNN's runtime-compiled
     * engines: required.
     */
    NVRTC("libnvrtc", "NVRTC (compiles Stride's CUDA kernels)", List.of(13, 12), List.of(), Role.REQUIRED,
            List.of("nvrtcVersion", "nvrtcCreateProgram", "nvrtcCompileProgram", "nvrtcGetPTX")),
    /**
     * NVRTC's built-in headers and functions: NVRTC opens {@code libnvrtc-builtins.so.MAJOR.MINOR} by that name when
     * it compiles, and the pip wheel's libnvrtc has no run path to find it. Loaded here by absolute path from
     * NVRTC's own directory first (the minor must be NVRTC's), so that the name is already loaded then.
     */
    NVRTC_BUILTINS("libnvrtc-builtins", "NVRTC built-ins (opened by NVRTC)", List.of(13, 12), List.of(), Role.REQUIRED,
            List.of()),
    /** Holds the backend (graph) API that libcudnn.so.9 forwards to. */
    CUDNN_GRAPH("libcudnn_graph", "cuDNN graph API", List.of(9), List.of(), Role.CUDNN_PRELOAD,
            List.of("cudnnBackendCreateDescriptor")),
    CUDNN_ENGINES_PRECOMPILED("libcudnn_engines_precompiled", "cuDNN precompiled engines", List.of(9), List.of(),
            Role.CUDNN_PRELOAD, List.of()),
    CUDNN_ENGINES_RUNTIME_COMPILED("libcudnn_engines_runtime_compiled", "cuDNN runtime-compiled engines (needs NVRTC)",
            List.of(9), List.of(), Role.CUDNN_PRELOAD, List.of()),
    CUDNN_HEURISTIC("libcudnn_heuristic", "cuDNN heuristics", List.of(9), List.of(), Role.CUDNN_PRELOAD, List.of()),
    CUDNN_ENGINES_TENSOR_IR("libcudnn_engines_tensor_ir", "cuDNN tensor-IR engines", List.of(9), List.of(),
            Role.CUDNN_ON_DEMAND, List.of()),
    CUDNN_OPS("libcudnn_ops", "cuDNN legacy ops API", List.of(9), List.of(), Role.CUDNN_ON_DEMAND, List.of()),
    CUDNN_CNN("libcudnn_cnn", "cuDNN legacy convolution API", List.of(9), List.of(), Role.CUDNN_ON_DEMAND, List.of()),
    CUDNN_ADV("libcudnn_adv", "cuDNN legacy RNN/attention API", List.of(9), List.of(), Role.CUDNN_ON_DEMAND,
            List.of()),
    CUDNN("libcudnn", "cuDNN", List.of(9), List.of(8, 7), Role.REQUIRED,
            List.of("cudnnGetVersion", "cudnnCreate", "cudnnBackendCreateDescriptor", "cudnnBackendExecute"));

    /** How the locator treats a library. */
    public enum Role {
        /** Found by name through the search path or, failing that, the system's loader; its absence means no driver. */
        DRIVER,
        /** Must be found and loaded. */
        REQUIRED,
        /** Loaded when found; its absence is a note, not a failure. */
        OPTIONAL,
        /**
         * A cuDNN sub-library, looked for next to libcudnn.so.9 only (where cuDNN itself looks, through its
         * {@code $ORIGIN} run path) and loaded before it, so that a missing dependency (libz, NVRTC) is reported with
         * the loader's reason instead of cuDNN's CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED at the first call. Only
         * the graph library is required.
         */
        CUDNN_PRELOAD,
        /** A cuDNN sub-library the backend does not use: reported when present, left for cuDNN to load on demand. */
        CUDNN_ON_DEMAND
    }

    public final String baseName;
    public final String what;
    public final List<Integer> majors;
    public final List<Integer> tooOld;
    public final Role role;
    public final List<String> entryPoints;

    CudaLibrary(String baseName, String what, List<Integer> majors, List<Integer> tooOld, Role role,
                List<String> entryPoints) {
        this.baseName = baseName;
        this.what = what;
        this.majors = majors;
        this.tooOld = tooOld;
        this.role = role;
        this.entryPoints = entryPoints;
    }

    /** The soname for a major version, e.g. "libcudnn.so.9". */
    public String soname(int major) { return baseName + ".so." + major; }

    /** "libcudart.so.13 or libcudart.so.12". */
    public String sonames() { return sonames(majors); }

    public String sonames(List<Integer> ofMajors) {
        return String.join(" or ", ofMajors.stream().map(this::soname).toList());
    }

    public boolean isCudnnSublibrary() { return role == Role.CUDNN_PRELOAD || role == Role.CUDNN_ON_DEMAND; }

    /** Whether a failure to find or load it makes the cuda backend unusable. */
    public boolean required() { return role == Role.REQUIRED || role == Role.DRIVER || this == CUDNN_GRAPH; }
}
