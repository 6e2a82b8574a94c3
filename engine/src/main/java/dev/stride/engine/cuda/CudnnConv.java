package dev.stride.engine.cuda;

import dev.stride.cuda.cudnn.Cudnn;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * One convolution node on cuDNN, built once when the session loads: its operation graph, the engine
 * configuration (the tuned one of its {@link ConvAlgorithm} entry when it was tuned on this machine, else the first
 * that cuDNN's heuristics rank and {@link CudnnEngines.Policy} accepts, mode A first, then the fallback mode), the
 * execution plan and its workspace size. A run binds the device pointers through a variant pack that is built on
 * the first run and again only if a pointer changes (never, for a loaded program), so a step allocates nothing and
 * makes one cuDNN call.
 *
 * <p>{@link #open} throws {@link Refused} when no configuration works: the kernel then runs the direct one.
 */
final class CudnnConv implements AutoCloseable {
    /** cuDNN has no engine for this configuration here; the message lists why each candidate was left out. */
    static final class Refused extends RuntimeException {
        Refused(String message) { super(message); }
    }

    final ConvProblem problem;
    final CudnnConvGraph graph;
    final CudnnEngines.Config config;
    final CudnnDescriptor plan;
    final long workspaceBytes;
    private CudnnDescriptor variantPack;
    private final long[] bound;

    private CudnnConv(ConvProblem problem, CudnnConvGraph graph, CudnnEngines.Config config, CudnnDescriptor plan) {
        this.problem = problem;
        this.graph = graph;
        this.config = config;
        this.plan = plan;
        this.workspaceBytes = CudnnEngines.workspace(plan);
        this.bound = new long[graph.uids().length + 1];
    }

    /** What ran, for the session's report: the engine configuration entry. */
    ConvAlgorithm algorithm() { return config.algorithm(); }

    /** The engine's graph adds the bias; otherwise the caller adds it after {@link #execute}. */
    boolean fusedBias() { return graph.fusedBias; }

    /** The engine's graph applies the node's ReLU; otherwise the caller applies it after {@link #execute}. */
    boolean fusedRelu() { return graph.fusedRelu; }

    /**
     * Chooses and builds. {@code requested}: the plan's entry (a tuned engine is tried when its machine is
     * {@code machine}; otherwise {@code notices} gets the reason and the heuristics choose). {@code relu}: the node
     * has a ReLU fused into it; the heuristics then try the graph that applies the bias and the ReLU first, and the
     * plain convolution when no engine runs that graph here ({@link #fusedBias}, {@link #fusedRelu} say which one
     * was built). {@code alignment}: the byte alignment of every pointer the node binds.
     */
    static CudnnConv open(MemorySegment handle, ConvProblem p, ConvAlgorithm requested, boolean relu, String machine,
                          CudnnEngines.Policy policy, long alignment, Consumer<String> notices) {
        if (requested.fusedRelu() && !relu)
            throw new IllegalArgumentException("the engine entry " + requested.entry() + " applies a ReLU, but no ReLU"
                    + " is fused into the node");
        if (requested.kind() == ConvAlgorithm.Kind.ENGINE) {
            String mismatch = requested.mismatch(machine);
            if (mismatch != null) {
                notices.accept(mismatch);
            } else {
                CudnnConvGraph g = null;
                try {
                    g = CudnnConvGraph.build(p, requested.fusedBias(), requested.fusedRelu(), alignment, handle);
                    CudnnEngines.Config c = CudnnEngines.config(g, requested);
                    try {
                        return withPlan(handle, p, g, c);
                    } catch (RuntimeException e) {
                        c.descriptor().close();
                        throw e;
                    }
                } catch (RuntimeException e) {
                    if (g != null) g.close();
                    notices.accept("the tuned cuDNN engine " + requested.entry() + " cannot run " + p + " here ("
                            + e.getMessage() + "): the engine is chosen again by cuDNN's heuristics");
                }
            }
        }
        List<String> tried = new ArrayList<>();
        if (relu && p.pass() == ConvProblem.Pass.FORWARD) {
            try {
                CudnnConv fused = byHeuristics(handle, p, p.bias(), true, policy, machine, alignment, tried);
                if (fused != null) return fused;
            } catch (RuntimeException e) {
                tried.add("the graph with " + (p.bias() ? "bias and " : "") + "ReLU: " + e.getMessage());
            }
            notices.accept("cuDNN runs no graph of " + p + (p.bias() ? " with its bias and" : " with") + " ReLU here:"
                    + " they run in an epilogue kernel after the convolution");
        }
        CudnnConv plain = byHeuristics(handle, p, false, false, policy, machine, alignment, tried);
        if (plain != null) return plain;
        throw new Refused("cuDNN has no engine for " + p + " (" + policy.describe() + ")"
                + (tried.isEmpty() ? ": the heuristics returned none" : ": " + String.join("; ", tried)));
    }

    /**
     * The first configuration of the graph with these fused nodes that cuDNN's heuristics rank (mode A, then the
     * fallback mode), that {@code policy} accepts and that builds an execution plan; null when none does, with the
     * reasons in {@code tried}.
     */
    private static CudnnConv byHeuristics(MemorySegment handle, ConvProblem p, boolean fuseBias, boolean fuseRelu,
                                          CudnnEngines.Policy policy, String machine, long alignment,
                                          List<String> tried) {
        CudnnConvGraph g = CudnnConvGraph.build(p, fuseBias, fuseRelu, alignment, handle);
        try {
            for (int mode : new int[] {Cudnn.CUDNN_HEUR_MODE_A(), Cudnn.CUDNN_HEUR_MODE_FALLBACK()}) {
                List<CudnnEngines.Config> configs;
                try {
                    configs = CudnnEngines.heuristics(g, mode, policy, machine, tried);
                } catch (RuntimeException e) {
                    tried.add("heuristics mode " + mode + ": " + e.getMessage());
                    continue;
                }
                try {
                    while (!configs.isEmpty()) {
                        CudnnEngines.Config c = configs.removeFirst();
                        try {
                            return withPlan(handle, p, g, c);
                        } catch (RuntimeException e) {
                            tried.add("engine " + c.algorithm().engine() + ": " + e.getMessage());
                            c.descriptor().close();
                        }
                    }
                } finally {
                    for (CudnnEngines.Config c : configs) c.descriptor().close();
                }
            }
        } catch (RuntimeException e) {
            g.close();
            throw e;
        }
        g.close();
        return null;
    }

    private static CudnnConv withPlan(MemorySegment handle, ConvProblem p, CudnnConvGraph g, CudnnEngines.Config c) {
        CudnnDescriptor plan = CudnnEngines.plan(handle, c);
        try {
            return new CudnnConv(p, g, c, plan);
        } catch (RuntimeException e) {
            plan.close();
            throw e;
        }
    }

    /**
     * Enqueues the convolution on the handle's stream: pointers by the convolution's roles (x, w, y; for a data
     * pass x is dx and y is dy, for a filter pass w is dw), the bias when the engine's graph adds it, and a
     * workspace of at least {@link #workspaceBytes}.
     */
    void execute(MemorySegment handle, long x, long w, long y, long bias, long workspace) {
        int n = graph.uids().length;
        boolean same = variantPack != null && bound[0] == x && bound[1] == w && bound[2] == y
                && (n < 4 || bound[3] == bias) && bound[n] == workspace;
        if (!same) bind(x, w, y, bias, workspace);
        CudnnDescriptor.check(Cudnn.cudnnBackendExecute(handle, plan.handle, variantPack.handle),
                "cudnnBackendExecute(" + config.algorithm().entry() + ")");
    }

    private void bind(long x, long w, long y, long bias, long workspace) {
        if (variantPack != null) variantPack.close();
        int n = graph.uids().length;
        MemorySegment[] ptrs = new MemorySegment[n];
        long[] values = n == 4 ? new long[] {x, w, y, bias} : new long[] {x, w, y};
        for (int i = 0; i < n; i++) {
            ptrs[i] = MemorySegment.ofAddress(values[i]);
            bound[i] = values[i];
        }
        bound[n] = workspace;
        CudnnDescriptor vp = CudnnDescriptor.create(Cudnn.CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR());
        try {
            vp.pointers(Cudnn.CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS(), Cudnn.CUDNN_TYPE_VOID_PTR(), ptrs)
                    .longs(Cudnn.CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS(), graph.uids())
                    .pointers(Cudnn.CUDNN_ATTR_VARIANT_PACK_WORKSPACE(), Cudnn.CUDNN_TYPE_VOID_PTR(),
                            MemorySegment.ofAddress(workspace))
                    .finish();
        } catch (RuntimeException e) {
            vp.close();
            throw e;
        }
        variantPack = vp;
    }

    @Override public void close() {
        if (variantPack != null) variantPack.close();
        plan.close();
        config.descriptor().close();
        graph.close();
    }
}
