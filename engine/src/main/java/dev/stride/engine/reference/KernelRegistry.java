package dev.stride.engine.reference;

import dev.stride.graph.Node;
import dev.stride.graph.Op;

import java.util.HashMap;
import java.util.Map;

/** Reference kernels by op type. Each op family registers its kernels in one place. */
public final class KernelRegistry {
    /** Makes the kernel for one node; shapes are on the node's values, attributes on its op. */
    @FunctionalInterface
    public interface Factory<O extends Op> {
        Kernel create(O op, Node node);
    }

    private final Map<Class<?>, Factory<?>> factories = new HashMap<>();

    public <O extends Op> void register(Class<O> type, Factory<O> factory) {
        if (factories.put(type, factory) != null) throw new IllegalStateException("two kernels for " + type.getName());
    }

    @SuppressWarnings("unchecked")
    public Kernel create(Node node) {
        Factory<Op> f = (Factory<Op>) factories.get(node.op().getClass());
        if (f == null) throw new UnsupportedOperationException("reference backend has no kernel for " + node.op().kind()
                + " (node '" + node.name() + "')");
        return f.create(node.op(), node);
    }

    public boolean supports(Class<? extends Op> type) { return factories.containsKey(type); }

    /** Every reference kernel. */
    public static KernelRegistry reference() {
        KernelRegistry r = new KernelRegistry();
        CoreKernels.register(r);
        ConvKernels.register(r);
        PoolKernels.register(r);
        TensorKernels.register(r);
        TrainKernels.register(r);
        OnnxKernels.register(r);
        return r;
    }
}
