package dev.stride.engine;

import dev.stride.graph.DType;
import dev.stride.graph.Plan;
import dev.stride.graph.Value;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A plan loaded on a backend with its buffers: binds inputs by name, runs, returns outputs. Parameters and state
 * come from the plan's stored values, or are initialised from the session seed. Belongs to one thread at a time.
 *
 * <pre>{@code
 * try (Session s = Session.open(plan)) {
 *     Map<String, Tensor> out = s.run(Map.of("image", image));
 * }
 * }</pre>
 */
public final class Session implements AutoCloseable {
    private final Plan plan;
    private final Backend backend;
    private final Program program;
    private long step;
    private boolean closed;

    private Session(Plan plan, Backend backend, Program program) {
        this.plan = plan;
        this.backend = backend;
        this.program = program;
    }

    /** Opens the plan on the backend it was compiled for. */
    public static Session open(Plan plan) { return open(plan, plan.target(), SessionOptions.defaults()); }

    public static Session open(Plan plan, String backendName, SessionOptions options) {
        return open(plan, Backend.named(backendName), options);
    }

    /**
     * Opens the plan on this backend instance: one that is not registered with the service loader (the cuda
     * backend on its emulated test device), or one configured by the caller.
     */
    public static Session open(Plan plan, Backend backend, SessionOptions options) {
        String why = backend.unavailableReason();
        if (why != null) throw new BackendUnavailableException(backend.name(), why);
        Program program = backend.load(plan, options);
        Session s = new Session(plan, backend, program);
        try {
            for (Value v : plan.graph().persistent()) {
                byte[] stored = plan.tensors().get(v.name());
                Tensor t;
                if (stored != null) {
                    t = fromBytes(stored, v, plan.graph().dtype());
                } else {
                    t = Initializers.create(plan.graph().inits().get(v), v.name(), v.shape(), plan.graph().dtype(),
                            options.seed());
                }
                program.write(v, t);
            }
        } catch (RuntimeException e) {
            s.close();
            throw e;
        }
        return s;
    }

    private static Tensor fromBytes(byte[] bytes, Value v, DType dtype) {
        long expect = v.shape().size() * dtype.bytes;
        if (bytes.length != expect)
            throw new IllegalArgumentException("stored value of " + v.name() + " has " + bytes.length
                    + " bytes, shape " + v.shape() + " in " + dtype + " needs " + expect);
        Tensor t = Tensor.zeros(dtype, v.shape());
        MemorySegment.copy(MemorySegment.ofArray(bytes), 0, t.segment(), 0, bytes.length);
        return t;
    }

    public Plan plan() { return plan; }

    public Backend backend() { return backend; }

    /** Runs the plan once. Every graph input must be bound; returns every graph output by name. */
    public Map<String, Tensor> run(Map<String, Tensor> inputs) {
        ensureOpen();
        for (String name : inputs.keySet()) {
            if (!plan.graph().has(name) || plan.graph().value(name).kind() != Value.Kind.INPUT)
                throw new IllegalArgumentException("'" + name + "' is not an input of this plan; inputs: "
                        + plan.graph().inputs().stream().map(Value::name).toList());
        }
        for (Value v : plan.graph().inputs()) {
            if (!plan.memory().placed(v.id())) continue;
            Tensor t = inputs.get(v.name());
            if (t == null) throw new IllegalArgumentException("input '" + v.name() + "' " + v.shape() + " is not bound");
            requireShape(v, t);
            program.write(v, t.as(plan.graph().dtype()));
        }
        program.run(new RunContext(step++));
        Map<String, Tensor> out = new LinkedHashMap<>();
        plan.graph().outputs().forEach((name, v) -> out.put(name, program.read(v)));
        return out;
    }

    private static void requireShape(Value v, Tensor t) {
        if (!t.shape().equals(v.shape()))
            throw new IllegalArgumentException("'" + v.name() + "' expects shape " + v.shape() + ", got " + t.shape());
    }

    /** Runs completed so far; random ops draw from (seed, step). */
    public long step() { return step; }

    /**
     * The algorithm the backend actually runs for node {@code nodeId}: the plan's choice, or what the backend
     * substituted (the cpu backend reports "reference" for a node it runs on the reference kernel).
     */
    public String algorithm(int nodeId) { return program.algorithm(nodeId); }

    /** Per-node timing on or off (see {@link #nodeNanos()}); for profiles, not for production runs. */
    public void profile(boolean on) { program.profile(on); }

    /** Nanoseconds spent in each node (by node id) while profiling was on; empty where the backend cannot tell. */
    public long[] nodeNanos() { return program.nodeNanos(); }

    /** Sets the run counter (resume from a checkpoint, or repeat a run exactly). */
    public void setStep(long s) { step = s; }

    /** Current value of a parameter or state tensor. */
    public Tensor get(String name) {
        ensureOpen();
        Value v = plan.graph().value(name);
        if (!v.persistent()) throw new IllegalArgumentException("'" + name + "' is not a parameter or state tensor");
        return program.read(v);
    }

    /** Overwrites a parameter or state tensor. */
    public void set(String name, Tensor t) {
        ensureOpen();
        Value v = plan.graph().value(name);
        if (!v.persistent()) throw new IllegalArgumentException("'" + name + "' is not a parameter or state tensor");
        requireShape(v, t);
        program.write(v, t.as(plan.graph().dtype()));
    }

    /** Every parameter and state tensor, by name. */
    public Map<String, Tensor> persistent() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (Value v : plan.graph().persistent()) m.put(v.name(), program.read(v));
        return m;
    }

    /**
     * Copies every persistent tensor that {@code other} also has (same name and shape) into this session: how an
     * inference session takes the weights a training session learned. Returns how many were copied.
     */
    public int copyPersistentFrom(Session other) {
        int n = 0;
        for (Value v : plan.graph().persistent()) {
            if (!other.plan.graph().has(v.name())) continue;
            Value o = other.plan.graph().value(v.name());
            if (!o.persistent() || !o.shape().equals(v.shape())) continue;
            program.write(v, other.program.read(o).as(plan.graph().dtype()));
            n++;
        }
        return n;
    }

    /** The plan with this session's current parameters and state stored in it, ready to save. */
    public Plan snapshot() {
        Map<String, byte[]> values = new LinkedHashMap<>();
        for (Value v : plan.graph().persistent()) {
            Tensor t = program.read(v);
            byte[] b = new byte[Math.toIntExact(t.segment().byteSize())];
            MemorySegment.copy(t.segment(), 0, MemorySegment.ofArray(b), 0, b.length);
            values.put(v.name(), b);
        }
        return plan.withTensors(values);
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("session is closed");
    }

    @Override public void close() {
        if (closed) return;
        closed = true;
        program.close();
    }

    static {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN || ValueLayout.JAVA_FLOAT.order() != ByteOrder.LITTLE_ENDIAN)
            throw new ExceptionInInitializerError("Stride stores tensors little-endian and needs a little-endian platform");
    }
}
