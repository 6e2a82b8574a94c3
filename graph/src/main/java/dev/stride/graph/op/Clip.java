package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * y = min(max(x, min), max), elementwise (ONNX Clip, PyTorch clamp). Either bound may be infinite, meaning none.
 * With min > max every output is max, as ONNX and numpy.clip define it. The gradient passes where
 * min < x < max and is 0 on the bounds themselves, as PyTorch's hardtanh and ReLU6 (its clamp passes it on the
 * bounds too; either is a valid subgradient).
 */
public record Clip(double min, double max) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        check(min, max);
        return List.of(inputs.getFirst());
    }

    static void check(double min, double max) {
        ShapeException.require(!Double.isNaN(min) && !Double.isNaN(max),
                "bounds min = %s, max = %s must not be NaN (use an infinity for no bound)", min, max);
    }

    @Override public List<Value> backward(GradContext g) {
        return List.of(g.builder().apply("clip_grad", new ClipBackward(min, max), g.input(0), g.gradOutput(0)));
    }
}
