package dev.stride.engine.cuda;

import dev.stride.cuda.CudaLibraries;
import dev.stride.cuda.CudaStatus;
import dev.stride.engine.Backend;
import dev.stride.engine.Program;
import dev.stride.engine.SessionOptions;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Node;
import dev.stride.graph.Plan;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The GPU backend: cuDNN and cuBLAS through the jextract bindings in {@code dev.stride.cuda}. So far it finds and
 * checks the libraries, driver and device ({@link CudaLibraries}), owns the device buffers of a plan, a stream and
 * the library handles ({@link CudaProgram}); it has no op kernels yet, and says so when asked to load a plan with
 * scheduled nodes rather than pretending.
 *
 * <p>Registered in {@code META-INF/services/dev.stride.engine.Backend}; on a machine without a usable GPU,
 * {@link #unavailableReason()} is the locator's full explanation, so {@code Session.open(plan)} for a plan compiled
 * for "cuda" fails with it.
 */
public final class CudaBackend implements Backend {
    public static final String NAME = "cuda";

    private final Supplier<CudaStatus> status;

    /** For the service loader: the real machine, probed on first use (not at construction). */
    public CudaBackend() { this(CudaLibraries::system); }

    CudaBackend(Supplier<CudaStatus> status) { this.status = status; }

    @Override public String name() { return NAME; }

    @Override public String unavailableReason() { return status.get().unavailableReason(); }

    /** Facts recorded in a plan compiled for this target: the GPU and library versions it was tuned for. */
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
        return new Compiler.Target(NAME, Map.copyOf(info), n -> "");
    }

    @Override public Program load(Plan plan, SessionOptions options) {
        String why = unavailableReason();
        if (why != null) throw new IllegalStateException("the cuda backend cannot load a plan here: " + why);
        if (plan.graph().dtype() != DType.F32)
            throw new IllegalArgumentException("the cuda backend runs float32 plans; this plan is " + plan.graph().dtype());
        List<Node> nodes = plan.scheduledNodes();
        if (!nodes.isEmpty()) {
            Map<String, Integer> kinds = new LinkedHashMap<>();
            for (Node n : nodes) kinds.merge(n.op().kind(), 1, Integer::sum);
            throw new UnsupportedOperationException("the cuda backend has no kernels yet (it finds the libraries and"
                    + " device, and owns device buffers, stream and handles); this plan needs " + kinds
                    + ". Run it with the 'reference' backend: Session.open(plan, \"reference\", options)");
        }
        return new CudaProgram(plan, 0);
    }
}
