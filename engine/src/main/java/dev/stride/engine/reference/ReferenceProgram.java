package dev.stride.engine.reference;

import dev.stride.engine.Program;
import dev.stride.engine.RunContext;
import dev.stride.engine.Tensor;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.MemoryPlan;
import dev.stride.graph.Node;
import dev.stride.graph.Plan;
import dev.stride.graph.Value;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** A plan bound to one arena and one persistent region, with a reference kernel per scheduled node. */
final class ReferenceProgram implements Program {
    private final Plan plan;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment transientRegion;
    private final MemorySegment persistentRegion;
    private final Node[] nodes;
    private final Kernel[] kernels;
    private final Buf[][] ins;
    private final Buf[][] outs;
    private final Buf[] updateFrom;
    private final Buf[] updateTo;

    ReferenceProgram(Plan plan, KernelRegistry registry) {
        this.plan = plan;
        MemoryPlan mem = plan.memory();
        try {
            transientRegion = arena.allocate(Math.max(mem.arenaBytes(), 1), MemoryPlan.ALIGN);
            persistentRegion = arena.allocate(Math.max(mem.persistentBytes(), 1), MemoryPlan.ALIGN);
            int n = plan.schedule().length;
            nodes = new Node[n];
            kernels = new Kernel[n];
            ins = new Buf[n][];
            outs = new Buf[n][];
            for (int i = 0; i < n; i++) {
                Node node = plan.graph().nodes().get(plan.schedule()[i]);
                nodes[i] = node;
                kernels[i] = registry.create(node);
                ins[i] = node.inputs().stream().map(this::buf).toArray(Buf[]::new);
                outs[i] = node.outputs().stream().map(this::buf).toArray(Buf[]::new);
            }
            var updates = plan.graph().updates();
            updateFrom = updates.stream().map(u -> buf(u.source())).toArray(Buf[]::new);
            updateTo = updates.stream().map(u -> buf(u.target())).toArray(Buf[]::new);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    private MemorySegment segment(Value v) {
        MemoryPlan mem = plan.memory();
        if (!mem.placed(v.id())) throw new IllegalStateException(v.name() + " has no buffer in the memory plan");
        MemorySegment region = v.persistent() ? persistentRegion : transientRegion;
        return region.asSlice(mem.offset()[v.id()], mem.bytes()[v.id()]);
    }

    private Buf buf(Value v) { return Buf.of(segment(v), plan.graph().dtype()); }

    @Override public void write(Value v, Tensor t) {
        DType dt = plan.graph().dtype();
        if (t.dtype() != dt) t = t.as(dt);
        MemorySegment.copy(t.segment(), 0, segment(v), 0, t.segment().byteSize());
    }

    @Override public Tensor read(Value v) {
        Tensor t = Tensor.zeros(plan.graph().dtype(), v.shape());
        MemorySegment.copy(segment(v), 0, t.segment(), 0, t.segment().byteSize());
        return t;
    }

    @Override public void run(RunContext ctx) {
        for (int i = 0; i < kernels.length; i++) {
            try {
                kernels[i].run(ins[i], outs[i], ctx);
            } catch (RuntimeException e) {
                throw new IllegalStateException("node '" + nodes[i].name() + "' (" + nodes[i].op().kind() + ") failed: "
                        + e.getMessage(), e);
            }
        }
        // Updates read their sources after every node and write targets last: sources are never persistent
        // targets of another update in the same step, so order among them does not matter.
        for (int i = 0; i < updateFrom.length; i++) {
            Buf from = updateFrom[i], to = updateTo[i];
            for (long k = 0, n = to.length(); k < n; k++) to.set(k, from.get(k));
        }
    }

    @Override public void close() { arena.close(); }
}
