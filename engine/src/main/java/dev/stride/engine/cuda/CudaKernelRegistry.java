package dev.stride.engine.cuda;

import dev.stride.graph.Node;
import dev.stride.graph.Op;
import dev.stride.graph.Plan;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The cuda backend's kernels by op class, and the CUDA C source files they launch. Each family registers itself
 * in its own class ({@code CudaElementwiseKernels.register(r)}): its {@code .cu} file(s) with {@link #source} and
 * a factory per op with {@link #register}. A factory sees the node bound to its device buffers ({@link CudaNode})
 * and does its one-time work there (index tables uploaded, launches prepared); the kernel it returns only
 * enqueues. There is no fallback: a plan with an op no family registered is refused at load ({@link #missing}).
 */
public final class CudaKernelRegistry {
    /** Makes the kernel for one bound node; never returns null (throw for a configuration it cannot run). */
    @FunctionalInterface
    public interface Factory<O extends Op> {
        CudaKernel create(O op, CudaNode node);
    }

    private final Map<Class<?>, Factory<?>> factories = new HashMap<>();
    private final Set<String> sources = new LinkedHashSet<>();
    private KernelSources compiled;

    public <O extends Op> void register(Class<O> type, Factory<O> factory) {
        if (factories.put(type, factory) != null) throw new IllegalStateException("two cuda kernels for " + type.getName());
    }

    /**
     * Adds a kernel source file of {@value KernelSources#DIR} (e.g. "elementwise.cu") to the unit the device
     * compiles; {@code common.cuh} is always first.
     */
    public void source(String cuFile) {
        KernelSources.resource(cuFile);   // fails now, naming the file, if it is not on the class path
        sources.add(cuFile);
        compiled = null;
    }

    public boolean supports(Class<? extends Op> type) { return factories.containsKey(type); }

    /** The registered source files, in registration order. */
    public List<String> sources() { return List.copyOf(sources); }

    /** The translation unit of the registered sources. */
    public KernelSources kernelSources() {
        if (compiled == null) compiled = KernelSources.of(List.copyOf(sources));
        return compiled;
    }

    /** The kernel for {@code node}; fails if no family registered its op (load checks {@link #missing} first). */
    @SuppressWarnings("unchecked")
    CudaKernel create(CudaNode node) {
        Factory<Op> f = (Factory<Op>) factories.get(node.op().getClass());
        if (f == null) throw new UnsupportedOperationException("the cuda backend has no kernel for " + node);
        CudaKernel k = f.create(node.op(), node);
        if (k == null) throw new IllegalStateException("the cuda kernel factory of " + node + " returned null");
        return k;
    }

    /**
     * Every op kind of the plan's scheduled nodes that no family supports, with its nodes:
     * {@code "Conv2d (nodes 'c1', 'c2'), MaxPool2d (node 'pool')"}; null when every node has a kernel.
     */
    public String missing(Plan plan) {
        Map<String, List<String>> byKind = new LinkedHashMap<>();
        for (Node n : plan.scheduledNodes())
            if (!supports(n.op().getClass())) byKind.computeIfAbsent(n.op().kind(), k -> new ArrayList<>()).add("'" + n.name() + "'");
        if (byKind.isEmpty()) return null;
        List<String> parts = new ArrayList<>();
        byKind.forEach((kind, nodes) -> parts.add(kind + " (node" + (nodes.size() == 1 ? " " : "s ") + String.join(", ", nodes) + ")"));
        return String.join(", ", parts);
    }

    /** Every cuda kernel: each family registers its ops and sources in its own class. */
    public static CudaKernelRegistry standard() {
        CudaKernelRegistry r = new CudaKernelRegistry();
        CudaElementwiseKernels.register(r);
        CudaLossKernels.register(r);
        CudaLayoutKernels.register(r);
        CudaOptimizerKernels.register(r);
        CudaConvKernels.register(r);
        CudaDenseKernels.register(r);
        CudaPoolKernels.register(r);
        CudaResampleKernels.register(r);
        return r;
    }
}
