package dev.stride.engine.cpu;

import dev.stride.engine.Backend;
import dev.stride.engine.Program;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.reference.ReferenceBackend;
import dev.stride.graph.Compiler;
import dev.stride.graph.Plan;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Vector API backend: float32 kernels (SIMD at the width {@link VectorConfig} selects, explicit scalar tails),
 * im2col/Winograd/depthwise convolution on {@link Sgemm}, fused conv epilogues, and a worker pool of
 * {@link SessionOptions#threads()} threads. Float64 plans run on the reference kernels (float64 is the
 * gradient-checking dtype; nobody trains in it for speed).
 *
 * <p>A plan compiled for another target (or for a cpu of another vector width) still loads: the algorithm entries
 * are machine-independent, and everything width-dependent (packed panels, transformed filters) is derived at load.
 */
public final class CpuBackend implements Backend {
    public static final String NAME = "cpu";

    private static final CpuKernelRegistry KERNELS = CpuKernelRegistry.standard();

    @Override public String name() { return NAME; }

    @Override public String unavailableReason() {
        if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty())
            return "the JDK's Vector API module is not loaded: run java with --add-modules jdk.incubator.vector";
        return null;
    }

    /** The heuristic target: algorithm per node by rule, fusion on. */
    @Override public Compiler.Target target() {
        return new Compiler.Target(NAME, info(), new CpuAlgorithms(KERNELS, true));
    }

    /**
     * The measured target: each convolution's algorithm is the fastest of its candidates, timed on this machine
     * with the default {@link Autotuner.Options} (the session default's threads, at most 60 s); the rest as
     * {@link #target()}. The plan records the choices, so loading it measures nothing.
     */
    public Compiler.Target autotuned() { return autotuned(Autotuner.Options.defaults()); }

    /** {@link #autotuned()} with these options (threads the plan will run with, time budget, log). */
    public Compiler.Target autotuned(Autotuner.Options options) {
        Map<String, String> info = info();
        info.put("tuning", options.describe());
        return new Compiler.Target(NAME, info, new Autotuner(KERNELS, true, options));
    }

    /** Facts a loader or a reader of the plan wants to know about the machine it was compiled on. */
    public static Map<String, String> info() {
        Map<String, String> info = new LinkedHashMap<>();
        info.put("arch", System.getProperty("os.arch"));
        info.put("vector", VectorConfig.describe());
        info.put("gemm", Sgemm.create().describe());
        return info;
    }

    @Override public Program load(Plan plan, SessionOptions options) {
        return new CpuProgram(plan, KERNELS, ReferenceBackend.kernels(), options.threads());
    }

    public static CpuKernelRegistry kernels() { return KERNELS; }
}
