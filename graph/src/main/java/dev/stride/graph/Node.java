package dev.stride.graph;

import java.util.List;

/** One application of an op: a named node with its input and output values. */
public record Node(int id, String name, Op op, List<Value> inputs, List<Value> outputs) {
    public Value output() {
        if (outputs.size() != 1) throw new IllegalStateException(name + " has " + outputs.size() + " outputs");
        return outputs.getFirst();
    }

    public List<Shape> inputShapes() { return inputs.stream().map(Value::shape).toList(); }

    public List<Shape> outputShapes() { return outputs.stream().map(Value::shape).toList(); }

    @Override public String toString() { return name + " (" + op.kind() + ")"; }
}
