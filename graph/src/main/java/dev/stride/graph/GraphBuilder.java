package dev.stride.graph;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Builds a {@link Graph}. Shapes are inferred as nodes are added, so a bad shape or attribute fails here,
 * with the node, the op, the input shapes and the rule broken.
 *
 * <pre>{@code
 * var b = new GraphBuilder(DType.F32, true);
 * Value x = b.input("image", 1, 1, 28, 28);
 * try (var s = b.scope("conv1")) { x = b.relu(b.conv2d("conv", x, 6, 5, 5, ConvSpec.defaults().pad(2))); }
 * }</pre>
 */
public final class GraphBuilder implements ConvDsl, PoolDsl, TensorDsl, TrainDsl {
    private final DType dtype;
    private final boolean training;
    private final List<Value> values = new ArrayList<>();
    private final List<Node> nodes = new ArrayList<>();
    private final Map<String, Value> outputs = new LinkedHashMap<>();
    private final Map<Value, Init> inits = new LinkedHashMap<>();
    private final List<Graph.Update> updates = new ArrayList<>();
    private final Set<String> names = new HashSet<>();
    private final Map<String, Integer> counters = new HashMap<>();
    private final Deque<String> scopes = new ArrayDeque<>();
    private final long seed;
    private long seedCounter;

    public GraphBuilder(DType dtype, boolean training) { this(dtype, training, 0x5EED5717L); }

    public GraphBuilder(DType dtype, boolean training, long seed) {
        this.dtype = dtype;
        this.training = training;
        this.seed = seed;
    }

    /** A builder that continues an existing graph (autodiff, optimizer updates). */
    public static GraphBuilder extend(Graph g) {
        var b = new GraphBuilder(g.dtype(), g.training());
        b.values.addAll(g.values());
        b.nodes.addAll(g.nodes());
        b.outputs.putAll(g.outputs());
        b.inits.putAll(g.inits());
        b.updates.addAll(g.updates());
        for (Value v : g.values()) b.names.add(v.name());
        for (Node n : g.nodes()) b.names.add(n.name());
        b.seedCounter = g.nodes().size() + 1L;
        return b;
    }

    @Override public DType dtype() { return dtype; }

    @Override public boolean training() { return training; }

    /** Opens a naming scope: names created inside are prefixed with {@code name/}. */
    public Scope scope(String name) {
        if (name == null || name.isEmpty() || name.contains("/"))
            throw new IllegalArgumentException("scope name must be non-empty without '/': '" + name + "'");
        scopes.addLast(name);
        return new Scope(name);
    }

    /** Closes the scope it was opened as; scopes nest. */
    public final class Scope implements AutoCloseable {
        private final String name;

        private Scope(String name) { this.name = name; }

        @Override public void close() {
            if (scopes.isEmpty() || !scopes.peekLast().equals(name))
                throw new IllegalStateException("scope '" + name + "' closed out of order");
            scopes.removeLast();
        }
    }

    private String scoped(String name) {
        if (scopes.isEmpty()) return name;
        return String.join("/", scopes) + "/" + name;
    }

    private String unique(String hint) {
        String base = scoped(hint);
        if (names.add(base)) return base;
        int k = counters.merge(base, 1, Integer::sum);
        String n;
        while (!names.add(n = base + "_" + k)) k = counters.merge(base, 1, Integer::sum);
        return n;
    }

    private Value newValue(String name, Shape shape, Value.Kind kind, int producer, int outputIndex) {
        Value v = new Value(values.size(), name, shape, kind, producer, outputIndex);
        values.add(v);
        return v;
    }

    public Value input(String name, int... dims) { return input(name, Shape.of(dims)); }

    public Value input(String name, Shape shape) {
        String n = scoped(name);
        if (!names.add(n)) throw new GraphException("duplicate tensor name '" + n + "'");
        return newValue(n, shape, Value.Kind.INPUT, -1, 0);
    }

    @Override public Value param(String name, Shape shape, Init init) {
        return persistent(name, shape, init, Value.Kind.PARAM);
    }

    @Override public Value state(String name, Shape shape, Init init) {
        return persistent(name, shape, init, Value.Kind.STATE);
    }

    private Value persistent(String name, Shape shape, Init init, Value.Kind kind) {
        String n = scoped(name);
        if (!names.add(n)) throw new GraphException("duplicate tensor name '" + n + "'");
        Value v = newValue(n, shape, kind, -1, 0);
        inits.put(v, init);
        return v;
    }

    @Override public Value apply(String nameHint, Op op, Value... inputs) {
        List<Value> outs = applyAll(nameHint, op, inputs);
        if (outs.size() != 1)
            throw new GraphException(op.kind() + " has " + outs.size() + " outputs; use applyAll");
        return outs.getFirst();
    }

    @Override public List<Value> applyAll(String nameHint, Op op, Value... inputs) {
        String name = unique(nameHint == null ? op.kind().toLowerCase() : nameHint);
        List<Value> ins = List.of(inputs);
        for (Value v : ins) {
            if (v == null) throw new GraphException("node '" + name + "' (" + op.kind() + "): null input");
            if (v.id() >= values.size() || values.get(v.id()) != v)
                throw new GraphException("node '" + name + "' (" + op.kind() + "): input " + v.name()
                        + " belongs to another graph");
        }
        List<Shape> inShapes = ins.stream().map(Value::shape).toList();
        List<Shape> outShapes;
        try {
            outShapes = op.inferShapes(inShapes);
        } catch (ShapeException e) {
            throw new GraphException(describe(name, op, inShapes) + ": " + e.getMessage(), e);
        }
        int id = nodes.size();
        List<Value> outs = new ArrayList<>();
        for (int i = 0; i < outShapes.size(); i++) {
            String vn = outShapes.size() == 1 ? name : name + ":" + i;
            names.add(vn);
            outs.add(newValue(vn, outShapes.get(i), Value.Kind.NODE, id, i));
        }
        nodes.add(new Node(id, name, op, ins, List.copyOf(outs)));
        return List.copyOf(outs);
    }

    /** "node 'conv1' (Conv2d) with inputs [1, 3, 5, 5], [8, 3, 7, 7]" */
    public static String describe(String node, Op op, List<Shape> inputs) {
        return "node '" + node + "' (" + op.kind() + " " + attributes(op) + ") with inputs "
                + inputs.stream().map(Shape::toString).collect(Collectors.joining(", "));
    }

    /** The op's attributes as {@code name=value} pairs, for messages and plan explain. */
    public static String attributes(Op op) {
        if (!op.getClass().isRecord()) return "";
        var parts = new ArrayList<String>();
        for (var c : op.getClass().getRecordComponents()) {
            try {
                Object v = c.getAccessor().invoke(op);
                String s = switch (v) {
                    case int[] a -> Arrays.toString(a);
                    case long[] a -> Arrays.toString(a);
                    case double[] a -> Arrays.toString(a);
                    case null -> "null";
                    default -> v.toString();
                };
                parts.add(c.getName() + "=" + s);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }
        return "{" + String.join(", ", parts) + "}";
    }

    @Override public void update(Value target, Value source) {
        if (!target.persistent())
            throw new GraphException("update target " + target.name() + " is not a parameter or state tensor");
        if (!target.shape().equals(source.shape()))
            throw new GraphException("update of " + target.name() + " " + target.shape() + " from "
                    + source.name() + " " + source.shape() + ": shapes differ");
        for (Graph.Update u : updates)
            if (u.target().equals(target))
                throw new GraphException(target.name() + " is already updated by " + u.source().name());
        updates.add(new Graph.Update(target, source));
    }

    /** Marks {@code v} as a graph output returned by every run under {@code name}. */
    public GraphBuilder output(String name, Value v) {
        if (outputs.containsKey(name)) throw new GraphException("duplicate output name '" + name + "'");
        outputs.put(name, v);
        return this;
    }

    @Override public long nextSeed() {
        long z = seed + 0x9E3779B97F4A7C15L * ++seedCounter;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Looks up any tensor built so far by its full name. */
    public Value value(String name) {
        for (Value v : values) if (v.name().equals(name)) return v;
        throw new IllegalArgumentException("no tensor named '" + name + "'");
    }

    public List<Value> params() { return values.stream().filter(v -> v.kind() == Value.Kind.PARAM).toList(); }

    /** A snapshot of the graph so far, without the check that it has outputs (for autodiff). */
    Graph build0() {
        return new Graph(dtype, training, values, nodes, outputs, inits, updates);
    }

    public Graph build() {
        if (outputs.isEmpty() && updates.isEmpty())
            throw new GraphException("graph has no outputs and no updates: nothing to run");
        return new Graph(dtype, training, values, nodes, outputs, inits, updates);
    }
}
