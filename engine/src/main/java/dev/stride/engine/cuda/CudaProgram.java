package dev.stride.engine.cuda;

import dev.stride.cuda.cudart.Cudart;
import dev.stride.engine.Program;
import dev.stride.engine.RunContext;
import dev.stride.engine.Tensor;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.MemoryPlan;
import dev.stride.graph.Plan;
import dev.stride.graph.Value;

import java.lang.foreign.MemorySegment;

import static dev.stride.engine.cuda.CudaCalls.cuda;

/**
 * A plan's buffers on the device: the memory plan's transient arena and persistent region, each one cudaMalloc at
 * load, plus one pinned host staging buffer as large as the largest value, so that a write or read allocates no
 * device or pinned memory. Every copy goes through the context's stream. The run loop binds no kernels yet:
 * {@link CudaBackend#load} only accepts plans without scheduled nodes until the cuDNN/cuBLAS kernels exist.
 */
final class CudaProgram implements Program {
    private final Plan plan;
    private final CudaContext ctx;
    private final DeviceMemory transientRegion;
    private final DeviceMemory persistentRegion;
    private final DeviceMemory staging;

    CudaProgram(Plan plan, int device) {
        this.plan = plan;
        MemoryPlan mem = plan.memory();
        long largest = 1;
        for (Value v : plan.graph().values()) if (mem.placed(v.id())) largest = Math.max(largest, mem.bytes()[v.id()]);
        CudaContext c = null;
        DeviceMemory t = null, p = null, s = null;
        try {
            c = new CudaContext(device);
            t = DeviceMemory.device(mem.arenaBytes());
            p = DeviceMemory.device(mem.persistentBytes());
            s = DeviceMemory.pinnedHost(largest);
        } catch (RuntimeException e) {
            for (AutoCloseable r : new AutoCloseable[] {s, p, t, c}) closeQuietly(r, e);
            throw e;
        }
        ctx = c;
        transientRegion = t;
        persistentRegion = p;
        staging = s;
    }

    private static void closeQuietly(AutoCloseable r, RuntimeException primary) {
        if (r == null) return;
        try {
            r.close();
        } catch (Exception e) {
            primary.addSuppressed(e);
        }
    }

    private MemorySegment device(Value v) {
        MemoryPlan mem = plan.memory();
        if (!mem.placed(v.id())) throw new IllegalStateException(v.name() + " has no buffer in the memory plan");
        return (v.persistent() ? persistentRegion : transientRegion).at(mem.offset()[v.id()]);
    }

    private long bytes(Value v) { return plan.memory().bytes()[v.id()]; }

    @Override public void write(Value v, Tensor t) {
        DType dt = plan.graph().dtype();
        if (t.dtype() != dt) t = t.as(dt);
        long n = t.segment().byteSize();
        if (n != bytes(v)) throw new IllegalArgumentException(v.name() + " holds " + bytes(v) + " bytes, got " + n);
        MemorySegment.copy(t.segment(), 0, staging.base, 0, n);
        cuda(Cudart.cudaMemcpyAsync(device(v), staging.base, n, Cudart.cudaMemcpyHostToDevice(), ctx.stream),
                "cudaMemcpyAsync(host to device, " + v.name() + ")");
        ctx.synchronize();  // the staging buffer is reused by the next copy
    }

    @Override public Tensor read(Value v) {
        Tensor t = Tensor.zeros(plan.graph().dtype(), v.shape());
        long n = t.segment().byteSize();
        cuda(Cudart.cudaMemcpyAsync(staging.base, device(v), n, Cudart.cudaMemcpyDeviceToHost(), ctx.stream),
                "cudaMemcpyAsync(device to host, " + v.name() + ")");
        ctx.synchronize();
        MemorySegment.copy(staging.base, 0, t.segment(), 0, n);
        return t;
    }

    @Override public void run(RunContext rc) {
        if (plan.schedule().length != 0)
            throw new IllegalStateException("the cuda backend has no kernels yet; CudaBackend.load should have refused this plan");
        // Updates read their sources after every node and write targets last (see ReferenceProgram).
        for (Graph.Update u : plan.graph().updates())
            cuda(Cudart.cudaMemcpyAsync(device(u.target()), device(u.source()), bytes(u.target()),
                    Cudart.cudaMemcpyDeviceToDevice(), ctx.stream), "cudaMemcpyAsync(update " + u.target().name() + ")");
        ctx.synchronize();
    }

    /** For the backend's own kernels and tests: the context (stream and handles). */
    CudaContext context() { return ctx; }

    @Override public void close() {
        RuntimeException first = null;
        for (AutoCloseable r : new AutoCloseable[] {staging, persistentRegion, transientRegion, ctx}) {
            try {
                r.close();
            } catch (Exception e) {
                if (first == null) first = e instanceof RuntimeException re ? re : new IllegalStateException(e);
                else first.addSuppressed(e);
            }
        }
        if (first != null) throw first;
    }
}
