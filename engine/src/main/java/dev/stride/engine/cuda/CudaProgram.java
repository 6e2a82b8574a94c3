package dev.stride.engine.cuda;

import dev.stride.engine.FusedChains;
import dev.stride.engine.Program;
import dev.stride.engine.RunContext;
import dev.stride.engine.Tensor;
import dev.stride.graph.DType;
import dev.stride.graph.MemoryPlan;
import dev.stride.graph.Node;
import dev.stride.graph.Plan;
import dev.stride.graph.Value;
import dev.stride.graph.op.BatchNorm2dInfer;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Unary;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A plan bound to a {@link Device}: the memory plan's transient arena and persistent region, each one device
 * allocation at load; one host staging buffer as large as the largest value (page-locked on a GPU), so that a write
 * or read allocates nothing; and per scheduled node a {@link CudaKernel} bound through the
 * {@link CudaKernelRegistry}; nodes the plan fused into a convolution get no kernel of their own (the head writes
 * the chain's output). A run enqueues every node's kernel in schedule order on the device's one stream, then
 * the graph's updates as device copies (sources read after every node, targets written last, as
 * ReferenceProgram), and waits for the stream, so that a failure belongs to the step that caused it.
 * The program owns the device and closes it.
 */
final class CudaProgram implements Program {
    private final Plan plan;
    private final Device device;
    private final long transientRegion;
    private final long persistentRegion;
    private final MemorySegment staging;
    private final Node[] nodes;
    private final CudaKernel[] kernels;
    private final long[] updateFrom;
    private final long[] updateTo;
    private final long[] updateBytes;
    private long[] nanos;   // per node id while profiling, else null

    /** Binds {@code plan} on {@code device}; closes the device if binding fails. */
    CudaProgram(Plan plan, CudaKernelRegistry registry, Device device) {
        this.plan = plan;
        this.device = device;
        List<CudaKernel> kernelList = new ArrayList<>();
        try {
            MemoryPlan mem = plan.memory();
            transientRegion = device.alloc(mem.arenaBytes());
            persistentRegion = device.alloc(mem.persistentBytes());
            long largest = 1;
            for (Value v : plan.graph().values()) if (mem.placed(v.id())) largest = Math.max(largest, mem.bytes()[v.id()]);
            staging = device.allocHost(largest);
            Map<Integer, List<Node>> fusedByHead = FusedChains.of(plan);
            List<Node> nodeList = new ArrayList<>();
            for (int id : plan.schedule()) {
                Node node = plan.graph().nodes().get(id);
                String algorithm = plan.algorithms().get(id);
                if (Plan.fusedInto(algorithm) >= 0) continue;
                long[] in = node.inputs().stream().mapToLong(this::address).toArray();
                long[] out = node.outputs().stream().mapToLong(this::address).toArray();
                List<Node> fused = fusedByHead.getOrDefault(id, List.of());
                List<long[]> fusedIn = new ArrayList<>();
                if (!fused.isEmpty()) {
                    checkFusion(node, algorithm, fused);
                    out[0] = address(fused.getLast().outputs().getFirst());
                    for (Node f : fused) fusedIn.add(f.inputs().stream().mapToLong(this::address).toArray());
                }
                nodeList.add(node);
                kernelList.add(registry.create(new CudaNode(node, algorithm, in, out, device, fused, fusedIn)));
            }
            nodes = nodeList.toArray(Node[]::new);
            kernels = kernelList.toArray(CudaKernel[]::new);
            var updates = plan.graph().updates();
            updateFrom = updates.stream().mapToLong(u -> address(u.source())).toArray();
            updateTo = updates.stream().mapToLong(u -> address(u.target())).toArray();
            updateBytes = updates.stream().mapToLong(u -> bytes(u.target())).toArray();
        } catch (RuntimeException | Error e) {
            try {
                for (CudaKernel k : kernelList.reversed()) k.close();
                device.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /**
     * The fusions the cuda kernels apply ({@link CudaAlgorithms}): a batch norm in inference mode and/or a ReLU into
     * the Conv2d they follow, the head's entry naming them. Anything else (a plan compiled for another target) is
     * refused, naming the nodes.
     */
    private static void checkFusion(Node head, String algorithm, List<Node> fused) {
        boolean bn = fused.getFirst().op() instanceof BatchNorm2dInfer;
        boolean relu = fused.getLast().op() instanceof Unary u && u.fn() == Unary.Fn.RELU;
        boolean known = fused.size() == (bn ? 1 : 0) + (relu ? 1 : 0);
        String why = null;
        try {
            if (!(head.op() instanceof Conv2d) || !known || !ConvAlgorithm.followers(algorithm).equals(
                    new ConvAlgorithm.Followers(bn, relu)))
                why = "the cuda backend fuses only a batch norm (inference) and/or a ReLU into the Conv2d they follow";
        } catch (IllegalArgumentException e) {
            why = e.getMessage();
        }
        if (why != null)
            throw new IllegalStateException("plan fuses " + fused.stream().map(n -> "'" + n.name() + "' ("
                    + n.op().kind() + ")").toList() + " into node '" + head.name() + "' (" + head.op().kind()
                    + ", entry '" + algorithm + "'): " + why + "; recompile the plan for the cuda target");
    }

    private long address(Value v) {
        MemoryPlan mem = plan.memory();
        if (!mem.placed(v.id())) throw new IllegalStateException(v.name() + " has no buffer in the memory plan");
        return (v.persistent() ? persistentRegion : transientRegion) + mem.offset()[v.id()];
    }

    private long bytes(Value v) { return plan.memory().bytes()[v.id()]; }

    @Override public void write(Value v, Tensor t) {
        DType dt = plan.graph().dtype();
        if (t.dtype() != dt) t = t.as(dt);
        long n = t.segment().byteSize();
        if (n != bytes(v)) throw new IllegalArgumentException(v.name() + " holds " + bytes(v) + " bytes, got " + n);
        MemorySegment.copy(t.segment(), 0, staging, 0, n);
        device.copyToDevice(staging, 0, address(v), n);   // returns when the staging buffer may be reused
    }

    @Override public Tensor read(Value v) {
        Tensor t = Tensor.zeros(plan.graph().dtype(), v.shape());
        long n = t.segment().byteSize();
        device.copyToHost(address(v), staging, 0, n);
        MemorySegment.copy(staging, 0, t.segment(), 0, n);
        return t;
    }

    /**
     * What the node's kernel runs (its cuDNN engine, "direct", "cublas", with "+relu" where it applies a fused
     * ReLU), "" where the op has one kernel, the plan's "fused:<head id>" for a node its head computes.
     */
    @Override public String algorithm(int nodeId) {
        for (int i = 0; i < nodes.length; i++) if (nodes[i].id() == nodeId) return kernels[i].algorithm();
        String entry = nodeId < plan.algorithms().size() ? plan.algorithms().get(nodeId) : "";
        return Plan.fusedInto(entry) >= 0 ? entry : "";
    }

    @Override public void profile(boolean on) { nanos = on ? new long[plan.graph().nodes().size()] : null; }

    @Override public long[] nodeNanos() { return nanos == null ? new long[0] : nanos.clone(); }

    @Override public void run(RunContext ctx) {
        long[] timing = nanos;
        for (int i = 0; i < kernels.length; i++) {
            try {
                long t0 = timing == null ? 0 : System.nanoTime();
                kernels[i].run(ctx);
                if (timing != null) {
                    device.synchronize();   // a node's time is its kernels' time only when the stream is drained
                    timing[nodes[i].id()] += System.nanoTime() - t0;
                }
            } catch (RuntimeException e) {
                throw new IllegalStateException("node '" + nodes[i].name() + "' (" + nodes[i].op().kind() + ") failed: "
                        + e.getMessage(), e);
            }
        }
        // Sources are never targets of another update in the same step, so the order does not matter.
        for (int i = 0; i < updateFrom.length; i++) device.copy(updateFrom[i], updateTo[i], updateBytes[i]);
        device.synchronize();
    }

    /** The device the program runs on (tests). */
    Device device() { return device; }

    /** Closes every kernel (what they hold outside device memory), then the device; the first failure is thrown. */
    @Override public void close() {
        RuntimeException failure = null;
        for (int i = kernels.length - 1; i >= 0; i--) {
            try {
                kernels[i].close();
            } catch (RuntimeException e) {
                if (failure == null) failure = new IllegalStateException("closing the kernel of node '" + nodes[i].name()
                        + "' failed: " + e.getMessage(), e);
                else failure.addSuppressed(e);
            }
        }
        try {
            device.close();
        } catch (RuntimeException e) {
            if (failure == null) failure = e;
            else failure.addSuppressed(e);
        }
        if (failure != null) throw failure;
    }
}
