package dev.stride.graph;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An immutable computation graph. Nodes are in a valid topological order (the order they were built).
 * {@link #updates()} are assignments to persistent tensors applied after every node of a run: the
 * optimizer step and running statistics, so that one training step is one plan.
 */
public final class Graph {
    /** Assign {@code source} to the persistent tensor {@code target} at the end of each run. */
    public record Update(Value target, Value source) {}

    private final DType dtype;
    private final boolean training;
    private final List<Value> values;
    private final List<Node> nodes;
    private final Map<String, Value> outputs;
    private final Map<Value, Init> inits;
    private final List<Update> updates;
    private final Map<String, Value> byName = new LinkedHashMap<>();

    Graph(DType dtype, boolean training, List<Value> values, List<Node> nodes, Map<String, Value> outputs,
          Map<Value, Init> inits, List<Update> updates) {
        this.dtype = dtype;
        this.training = training;
        this.values = List.copyOf(values);
        this.nodes = List.copyOf(nodes);
        this.outputs = Collections.unmodifiableMap(new LinkedHashMap<>(outputs));
        this.inits = Collections.unmodifiableMap(new LinkedHashMap<>(inits));
        this.updates = List.copyOf(updates);
        for (Value v : values) byName.put(v.name(), v);
    }

    public DType dtype() { return dtype; }

    /** Whether batch norm uses batch statistics and dropout is active. */
    public boolean training() { return training; }

    public List<Value> values() { return values; }

    public List<Node> nodes() { return nodes; }

    public Map<String, Value> outputs() { return outputs; }

    public Map<Value, Init> inits() { return inits; }

    public List<Update> updates() { return updates; }

    public List<Value> inputs() { return ofKind(Value.Kind.INPUT); }

    public List<Value> params() { return ofKind(Value.Kind.PARAM); }

    public List<Value> states() { return ofKind(Value.Kind.STATE); }

    /** Parameters and state, in declaration order. */
    public List<Value> persistent() { return values.stream().filter(Value::persistent).toList(); }

    private List<Value> ofKind(Value.Kind k) { return values.stream().filter(v -> v.kind() == k).toList(); }

    public Value value(String name) {
        Value v = byName.get(name);
        if (v == null) throw new IllegalArgumentException("no tensor named '" + name + "' in the graph");
        return v;
    }

    public boolean has(String name) { return byName.containsKey(name); }

    public Node producer(Value v) { return v.producer() < 0 ? null : nodes.get(v.producer()); }
}
