package dev.stride.engine.cpu;

import dev.stride.engine.FusedChains;
import dev.stride.engine.Program;
import dev.stride.engine.RunContext;
import dev.stride.engine.Tensor;
import dev.stride.engine.reference.Buf;
import dev.stride.engine.reference.Kernel;
import dev.stride.engine.reference.KernelRegistry;
import dev.stride.graph.DType;
import dev.stride.graph.MemoryPlan;
import dev.stride.graph.Node;
import dev.stride.graph.Plan;
import dev.stride.graph.Value;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A plan bound to the cpu backend: one native arena laid out by the plan's memory plan, one persistent region,
 * and per scheduled node a kernel bound to its buffers. Nodes the plan fused into a head have no kernel of their
 * own. A node without a cpu kernel (or any node of a float64 plan) runs its reference kernel: {@link #algorithm}
 * reports those as {@value CpuAlgorithms#REFERENCE}.
 */
final class CpuProgram implements Program {
    private final Plan plan;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment transientRegion;
    private final MemorySegment persistentRegion;
    private final CpuRuntime runtime;
    private final Node[] nodes;
    private final CpuKernel[] kernels;
    private final String[] used;
    private final MemorySegment[] updateFrom;
    private final MemorySegment[] updateTo;
    private final int[] updateTarget;

    CpuProgram(Plan plan, CpuKernelRegistry registry, KernelRegistry reference, int threads) {
        this.plan = plan;
        MemoryPlan mem = plan.memory();
        CpuRuntime rt = null;
        try {
            transientRegion = arena.allocate(Math.max(mem.arenaBytes(), 1), MemoryPlan.ALIGN);
            persistentRegion = arena.allocate(Math.max(mem.persistentBytes(), 1), MemoryPlan.ALIGN);
            rt = new CpuRuntime(threads, plan.graph().values().size());
            runtime = rt;
            boolean f32 = plan.graph().dtype() == DType.F32;
            Map<Integer, List<Node>> fusedByHead = FusedChains.of(plan);
            List<Node> nodeList = new ArrayList<>();
            List<CpuKernel> kernelList = new ArrayList<>();
            String[] usedAlgorithms = new String[plan.graph().nodes().size()];
            for (int id : plan.schedule()) {
                Node node = plan.graph().nodes().get(id);
                String algorithm = plan.algorithms().get(id);
                if (Plan.fusedInto(algorithm) >= 0) {
                    usedAlgorithms[id] = algorithm;
                    continue;
                }
                List<Node> fused = fusedByHead.getOrDefault(id, List.of());
                CpuKernel k = null;
                if (f32 && !algorithm.equals(CpuAlgorithms.REFERENCE)) {
                    CpuNode bound = bind(node, algorithm, fused);
                    k = registry.create(bound);
                    if (k != null && !fused.isEmpty() && !bound.epilogueTaken())
                        throw new IllegalStateException("the cpu kernel of node '" + node.name() + "' (" + node.op().kind()
                                + ") does not apply the epilogue of the nodes fused into it: " + fused);
                }
                if (k == null) {
                    if (!fused.isEmpty())
                        throw new IllegalStateException("plan fuses " + fused + " into node '" + node.name()
                                + "', which has no cpu kernel; recompile the plan for this backend");
                    k = referenceKernel(node, reference);
                    usedAlgorithms[id] = CpuAlgorithms.REFERENCE;
                } else {
                    usedAlgorithms[id] = algorithm;
                }
                nodeList.add(node);
                kernelList.add(k);
            }
            nodes = nodeList.toArray(Node[]::new);
            kernels = kernelList.toArray(CpuKernel[]::new);
            used = usedAlgorithms;
            var updates = plan.graph().updates();
            updateFrom = updates.stream().map(u -> segment(u.source())).toArray(MemorySegment[]::new);
            updateTo = updates.stream().map(u -> segment(u.target())).toArray(MemorySegment[]::new);
            updateTarget = updates.stream().mapToInt(u -> u.target().id()).toArray();
        } catch (RuntimeException | Error e) {
            if (rt != null) rt.close();
            arena.close();
            throw e;
        }
    }

    private CpuNode bind(Node node, String algorithm, List<Node> fused) {
        MemorySegment[] in = node.inputs().stream().map(this::segment).toArray(MemorySegment[]::new);
        MemorySegment[] out = node.outputs().stream().map(this::segment).toArray(MemorySegment[]::new);
        List<MemorySegment[]> fusedIn = new ArrayList<>();
        for (Node f : fused) fusedIn.add(f.inputs().stream().map(this::segment).toArray(MemorySegment[]::new));
        if (!fused.isEmpty()) out[0] = segment(fused.getLast().outputs().getFirst());
        return new CpuNode(node, algorithm, in, out, fused, fusedIn, runtime);
    }

    private CpuKernel referenceKernel(Node node, KernelRegistry reference) {
        Kernel k = reference.create(node);
        DType dt = plan.graph().dtype();
        Buf[] in = node.inputs().stream().map(v -> Buf.of(segment(v), dt)).toArray(Buf[]::new);
        Buf[] out = node.outputs().stream().map(v -> Buf.of(segment(v), dt)).toArray(Buf[]::new);
        return ctx -> k.run(in, out, ctx);
    }

    private MemorySegment segment(Value v) {
        MemoryPlan mem = plan.memory();
        if (!mem.placed(v.id())) throw new IllegalStateException(v.name() + " has no buffer in the memory plan");
        MemorySegment region = v.persistent() ? persistentRegion : transientRegion;
        return region.asSlice(mem.offset()[v.id()], mem.bytes()[v.id()]);
    }

    @Override public void write(Value v, Tensor t) {
        DType dt = plan.graph().dtype();
        if (t.dtype() != dt) t = t.as(dt);
        MemorySegment.copy(t.segment(), 0, segment(v), 0, t.segment().byteSize());
        runtime.bump(v.id());
    }

    @Override public Tensor read(Value v) {
        Tensor t = Tensor.zeros(plan.graph().dtype(), v.shape());
        MemorySegment.copy(segment(v), 0, t.segment(), 0, t.segment().byteSize());
        return t;
    }

    private long[] nanos;   // per node id while profiling, else null

    @Override public void profile(boolean on) {
        nanos = on ? new long[plan.graph().nodes().size()] : null;
    }

    @Override public long[] nodeNanos() { return nanos == null ? new long[0] : nanos.clone(); }

    @Override public void run(RunContext ctx) {
        long[] timing = nanos;
        for (int i = 0; i < kernels.length; i++) {
            try {
                long t0 = timing == null ? 0 : System.nanoTime();
                kernels[i].run(ctx);
                if (timing != null) timing[nodes[i].id()] += System.nanoTime() - t0;
            } catch (RuntimeException e) {
                throw new IllegalStateException("node '" + nodes[i].name() + "' (" + nodes[i].op().kind() + ") failed: "
                        + e.getMessage(), e);
            }
        }
        // Sources are never targets of another update in the same step, so the order does not matter.
        for (int i = 0; i < updateFrom.length; i++) {
            MemorySegment.copy(updateFrom[i], 0, updateTo[i], 0, updateTo[i].byteSize());
            runtime.bump(updateTarget[i]);
        }
    }

    @Override public String algorithm(int nodeId) {
        String a = used[nodeId];
        return a == null ? "" : a;
    }

    @Override public void close() {
        runtime.close();
        arena.close();
    }
}
