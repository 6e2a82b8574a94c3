package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.ArrayList;
import java.util.List;

/**
 * Joins one or more tensors along {@code axis} (0-based, non-negative; the DSL normalises negative axes).
 * All inputs have the same rank and agree on every other dimension. Input k's gradient is its slab of dy.
 */
public record Concat(int axis) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        ShapeException.require(!inputs.isEmpty(), "expects at least 1 input, got 0");
        Shape first = inputs.getFirst();
        ShapeException.require(0 <= axis && axis < first.rank(), "axis %d must be in [0, %d) for rank %d inputs",
                axis, first.rank(), first.rank());
        long total = 0;
        for (int k = 0; k < inputs.size(); k++) {
            Shape s = inputs.get(k);
            ShapeException.require(s.rank() == first.rank(), "input %d has rank %d, input 0 has rank %d",
                    k, s.rank(), first.rank());
            for (int i = 0; i < s.rank(); i++)
                ShapeException.require(i == axis || s.dim(i) == first.dim(i),
                        "inputs must agree on every dimension but axis %d: input %d %s differs from input 0 %s at dimension %d",
                        axis, k, s, first, i);
            total += s.dim(axis);
        }
        ShapeException.require(total <= Integer.MAX_VALUE, "concatenated dimension %d overflows an int", total);
        return List.of(first.with(axis, (int) total));
    }

    @Override public List<Value> backward(GradContext g) {
        GraphBuilder b = g.builder();
        Value dy = g.gradOutput(0);
        List<Value> grads = new ArrayList<>();
        int offset = 0;
        int n = g.node().inputs().size();
        for (int k = 0; k < n; k++) {
            Shape s = g.input(k).shape();
            if (!g.needsGrad(k)) grads.add(null);
            else if (n == 1) grads.add(dy);
            else {
                int[] starts = new int[s.rank()], ends = s.dims();
                starts[axis] = offset;
                ends[axis] = offset + s.dim(axis);
                grads.add(b.apply("concat_grad", new Slice(starts, ends), dy));
            }
            offset += s.dim(axis);
        }
        return grads;
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 0; }
}
