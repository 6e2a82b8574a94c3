package dev.stride.engine.cpu;

import dev.stride.graph.Op;

import java.util.HashMap;
import java.util.Map;

/**
 * The cpu backend's kernels by op class, float32. A factory sees the node bound to its buffers ({@link CpuNode}:
 * shapes, attributes, the plan's algorithm choice, fused followers) and does its one-time work there: index
 * tables, scratch, weight transforms; the kernel it returns only computes.
 */
public final class CpuKernelRegistry {
    /** Makes the kernel for one bound node. */
    @FunctionalInterface
    public interface Factory<O extends Op> {
        CpuKernel create(O op, CpuNode node);
    }

    private final Map<Class<?>, Factory<?>> factories = new HashMap<>();

    public <O extends Op> void register(Class<O> type, Factory<O> factory) {
        if (factories.put(type, factory) != null) throw new IllegalStateException("two cpu kernels for " + type.getName());
    }

    public boolean supports(Class<? extends Op> type) { return factories.containsKey(type); }

    /** The kernel for {@code node}, or null when no cpu kernel exists for its op. */
    @SuppressWarnings("unchecked")
    CpuKernel create(CpuNode node) {
        Factory<Op> f = (Factory<Op>) factories.get(node.op().getClass());
        return f == null ? null : f.create(node.op(), node);
    }

    /** Every cpu kernel: each family registers its ops in its own class. */
    public static CpuKernelRegistry standard() {
        CpuKernelRegistry r = new CpuKernelRegistry();
        ElementwiseKernels.register(r);
        ConvKernels.register(r);
        WinogradKernels.register(r);
        PoolKernels.register(r);
        TensorKernels.register(r);
        TrainKernels.register(r);
        OnnxOpKernels.register(r);
        return r;
    }
}
