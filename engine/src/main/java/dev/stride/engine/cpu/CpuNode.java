package dev.stride.engine.cpu;

import dev.stride.graph.Node;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A scheduled node bound to a cpu program: its buffers, the algorithm the plan chose for it, the nodes fused
 * into it, and the session's {@link CpuRuntime}. Kernel factories read everything they need from here, once.
 *
 * <p>Buffers are float32 segments, one per input and output, each exactly the value's size. When other nodes are
 * fused into this one ({@link #fused()} non-empty), {@link #out(int) out(0)} is the buffer of the LAST fused node's
 * output: the head writes the chain's final result and nothing in between.
 */
public final class CpuNode {
    private final Node node;
    private final String algorithm;
    private final MemorySegment[] in;
    private final MemorySegment[] out;
    private final List<Node> fused;
    private final List<MemorySegment[]> fusedIn;
    private final CpuRuntime runtime;
    private boolean epilogueTaken;

    CpuNode(Node node, String algorithm, MemorySegment[] in, MemorySegment[] out, List<Node> fused,
            List<MemorySegment[]> fusedIn, CpuRuntime runtime) {
        this.node = node;
        this.algorithm = algorithm;
        this.in = in;
        this.out = out;
        this.fused = List.copyOf(fused);
        this.fusedIn = List.copyOf(fusedIn);
        this.runtime = runtime;
    }

    public Node node() { return node; }

    public Op op() { return node.op(); }

    public String name() { return node.name(); }

    /** The plan's algorithm for this node without its fusion suffixes, e.g. "im2col" for "im2col+bn+relu". */
    public String algorithm() {
        int plus = algorithm.indexOf('+');
        return plus < 0 ? algorithm : algorithm.substring(0, plus);
    }

    /** The plan's full algorithm entry. */
    public String algorithmEntry() { return algorithm; }

    public int inputs() { return in.length; }

    public Shape inShape(int i) { return node.inputs().get(i).shape(); }

    public Shape outShape(int i) { return node.outputs().get(i).shape(); }

    public MemorySegment in(int i) { return in[i]; }

    public MemorySegment out(int i) { return out[i]; }

    public CpuRuntime runtime() { return runtime; }

    /** Nodes whose computation this node's kernel performs, in order (batch norm, activation). */
    public List<Node> fused() { return fused; }

    /** Input {@code i} of fused node {@code k}. */
    public MemorySegment fusedIn(int k, int i) { return fusedIn.get(k)[i]; }

    /**
     * The per-output-channel epilogue of this node (bias, folded batch norm, activation): the kernel of a node that
     * may head a fusion must take it and apply it to every output element. {@code biasInput} is the index of this
     * node's own bias input, or -1.
     */
    public Epilogue epilogue(int biasInput) {
        epilogueTaken = true;
        return Epilogue.of(this, biasInput);
    }

    boolean epilogueTaken() { return epilogueTaken; }

    /**
     * Tells whether inputs {@code indices} changed since the watch last looked: persistent values only change
     * through session writes and plan updates, so a kernel caches what it derives from weights (packed panels,
     * Winograd-transformed filters, folded batch norm) and redoes it only then. Other values always count as
     * changed.
     */
    public Watch watch(int... indices) {
        Value[] values = new Value[indices.length];
        for (int i = 0; i < indices.length; i++) values[i] = node.inputs().get(indices[i]);
        return new Watch(runtime, values);
    }

    /** See {@link #watch}. */
    public static final class Watch {
        private final CpuRuntime runtime;
        private final Value[] values;
        private final long[] seen;
        private final boolean alwaysChanged;
        private boolean first = true;

        Watch(CpuRuntime runtime, Value[] values) {
            this.runtime = runtime;
            this.values = values;
            this.seen = new long[values.length];
            boolean any = false;
            for (Value v : values) any |= !v.persistent();
            this.alwaysChanged = any;
        }

        /** True on the first call, and whenever a watched value was written since the previous call. */
        public boolean changed() {
            if (alwaysChanged) return true;
            boolean changed = first;
            first = false;
            for (int i = 0; i < values.length; i++) {
                long v = runtime.version(values[i].id());
                if (v != seen[i]) { seen[i] = v; changed = true; }
            }
            return changed;
        }
    }
}
