package dev.stride.engine.cuda;

import dev.stride.graph.Node;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * A scheduled node bound to a cuda program: its buffers as device addresses (one per input and output, float32,
 * exactly the value's size, inside the program's arena or persistent region), its shapes, the algorithm the plan
 * chose for it, and the {@link Device}. A kernel factory reads everything it needs here once, uploads its index
 * tables ({@link #upload}), takes scratch ({@link #scratch}) and prepares its launches ({@link #launch}); device
 * memory taken here lives as long as the program.
 */
public final class CudaNode {
    private final Node node;
    private final String algorithm;
    private final long[] in;
    private final long[] out;
    private final Device device;
    private final List<Node> fused;
    private final List<long[]> fusedIn;

    CudaNode(Node node, String algorithm, long[] in, long[] out, Device device) {
        this(node, algorithm, in, out, device, List.of(), List.of());
    }

    /**
     * {@code fused}: the nodes the plan fused into this one, in order, with {@code fusedIn} their input buffers;
     * {@code out[0]} is then the last one's output.
     */
    CudaNode(Node node, String algorithm, long[] in, long[] out, Device device, List<Node> fused, List<long[]> fusedIn) {
        this.node = node;
        this.algorithm = algorithm;
        this.in = in;
        this.out = out;
        this.device = device;
        this.fused = List.copyOf(fused);
        this.fusedIn = List.copyOf(fusedIn);
    }

    public Node node() { return node; }

    public Op op() { return node.op(); }

    public String name() { return node.name(); }

    /** The plan's algorithm entry for this node ("" where the op has only one). */
    public String algorithm() { return algorithm; }

    public int inputs() { return in.length; }

    public int outputs() { return out.length; }

    public Shape inShape(int i) { return node.inputs().get(i).shape(); }

    public Shape outShape(int i) { return node.outputs().get(i).shape(); }

    /** Device address of input {@code i}'s buffer. */
    public long in(int i) { return in[i]; }

    /** Device address of output {@code i}'s buffer. */
    public long out(int i) { return out[i]; }

    public Device device() { return device; }

    /** The nodes the plan fused into this one, in schedule order (empty for most). */
    public List<Node> fused() { return fused; }

    /** Device address of input {@code i} of fused node {@code k}. */
    public long fusedIn(int k, int i) { return fusedIn.get(k)[i]; }

    /** {@link Device#prepare}: a launch over {@code elements} elements, run by the kernel on every step. */
    public Launch launch(String kernel, long elements, Arg... args) { return device.prepare(kernel, elements, args); }

    /** Copies {@code values} to new device memory (a {@code const long long*} for a kernel): index layouts. */
    public long upload(long... values) {
        long bytes = 8L * values.length;
        long d = device.alloc(bytes);
        try (Arena a = Arena.ofConfined()) {
            device.copyToDevice(a.allocateFrom(ValueLayout.JAVA_LONG, values), 0, d, bytes);
        }
        return d;
    }

    /** {@code bytes} of device scratch for this node's kernel, contents undefined at every run. */
    public long scratch(long bytes) { return device.alloc(bytes); }

    /** For copies of host tables other than longs: {@code bytes} of host data to new device memory. */
    public long upload(MemorySegment host) {
        long d = device.alloc(host.byteSize());
        device.copyToDevice(host, 0, d, host.byteSize());
        return d;
    }

    @Override public String toString() { return "node '" + name() + "' (" + op().kind() + ")"; }
}
