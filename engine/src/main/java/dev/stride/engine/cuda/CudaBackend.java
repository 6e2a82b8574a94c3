package dev.stride.engine.cuda;

import dev.stride.cuda.CudaLibraries;
import dev.stride.cuda.CudaStatus;
import dev.stride.engine.Backend;
import dev.stride.engine.Program;
import dev.stride.engine.SessionOptions;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Plan;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The GPU backend: Stride's own CUDA C kernels ({@link CudaKernelRegistry}, compiled by NVRTC when a session
 * loads), with cuDNN and cuBLAS for convolution and GEMM, on one stream per session ({@link CudaDevice}). Float32
 * only. A plan whose ops are not all covered by cuda kernels is refused at load, naming every missing op and node.
 *
 * <p>Registered in {@code META-INF/services/dev.stride.engine.Backend}; on a machine without a usable GPU,
 * {@link #unavailableReason()} is the locator's full explanation ({@link CudaLibraries}), so
 * {@code Session.open(plan)} for a plan compiled for "cuda" fails with it. {@link #emulated()} is the same backend
 * on the {@link EmulatedDevice}, for tests.
 */
public final class CudaBackend implements Backend {
    public static final String NAME = "cuda";

    /** Built on first use, not when the service loader instantiates every backend. */
    private static final class Kernels {
        static final CudaKernelRegistry STANDARD = CudaKernelRegistry.standard();
    }

    private final Supplier<CudaStatus> status;

    /** For the service loader: the real machine, probed on first use (not at construction). */
    public CudaBackend() { this(CudaLibraries::system); }

    CudaBackend(Supplier<CudaStatus> status) { this.status = status; }

    /** The kernels every cuda program binds its nodes through. */
    public static CudaKernelRegistry kernels() { return Kernels.STANDARD; }

    @Override public String name() { return NAME; }

    @Override public String unavailableReason() { return status.get().unavailableReason(); }

    /**
     * Facts recorded in a plan compiled for this target: the GPU and library versions it was tuned for. Node
     * entries by {@link CudaAlgorithms}: "" (one kernel per op, cuDNN engines chosen at load) but for Conv2d + ReLU
     * fusions.
     */
    @Override public Compiler.Target target() {
        CudaStatus s = status.get();
        Map<String, String> info = new LinkedHashMap<>();
        if (!s.devices().isEmpty()) {
            CudaStatus.Device d = s.devices().getFirst();
            info.put("gpu", d.name());
            info.put("computeCapability", d.capability());
        }
        if (s.versions().runtime() > 0) info.put("cudaRuntime", CudaStatus.cuda(s.versions().runtime()));
        if (s.versions().cudnn() > 0) info.put("cudnn", CudaStatus.cudnn(s.versions().cudnn()));
        if (s.versions().cublas() != null) info.put("cublas", s.versions().cublas());
        return new Compiler.Target(NAME, Map.copyOf(info), new CudaAlgorithms(true));
    }

    @Override public Program load(Plan plan, SessionOptions options) {
        String why = unavailableReason();
        if (why != null) throw new IllegalStateException("the cuda backend cannot load a plan here: " + why);
        check(plan);
        return new CudaProgram(plan, kernels(), CudaDevice.open(0, kernels().kernelSources()));
    }

    /** What every cuda load checks before touching a device: float32, and a kernel for every scheduled node. */
    static void check(Plan plan) {
        if (plan.graph().dtype() != DType.F32)
            throw new IllegalArgumentException("the cuda backend runs float32 plans; this plan is " + plan.graph().dtype());
        String missing = kernels().missing(plan);
        if (missing != null)
            throw new UnsupportedOperationException("the cuda backend has no kernel for " + missing
                    + ". Run this plan on the 'cpu' or 'reference' backend: Session.open(plan, \"cpu\", options)");
    }

    /**
     * The cuda backend on the {@link EmulatedDevice}: named "cuda", same kernels, same checks, host memory and the
     * kernels compiled by g++. A TEST backend (slow, and it proves nothing about a GPU's numerics beyond IEEE
     * double arithmetic): not registered with the service loader, so {@code Session.open(plan, "cuda", ...)}
     * never picks it; tests open it with {@code Session.open(plan, CudaBackend.emulated(), options)}.
     */
    public static Backend emulated() { return EmulatedBackend.INSTANCE; }

    private static final class EmulatedBackend implements Backend {
        static final EmulatedBackend INSTANCE = new EmulatedBackend();

        @Override public String name() { return NAME; }

        @Override public String unavailableReason() { return EmulatedDevice.unavailableReason(); }

        @Override public Compiler.Target target() {
            return new Compiler.Target(NAME, Map.of("device", "emulated"), new CudaAlgorithms(true));
        }

        @Override public Program load(Plan plan, SessionOptions options) {
            String why = unavailableReason();
            if (why != null) throw new IllegalStateException("the emulated cuda device is unavailable: " + why);
            check(plan);
            return new CudaProgram(plan, kernels(), EmulatedDevice.open(kernels().kernelSources()));
        }
    }
}
