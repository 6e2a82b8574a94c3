package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.List;

/**
 * Gradient of {@link Pad}: input dy of the padded shape, output dx of the unpadded shape, each dx cell the sum
 * of dy over the padded cells that copy it ({@link Pad#sourceIndex}; CONSTANT cells copy nothing). Linear in dy:
 * its gradient is the padding itself.
 */
public record PadBackward(int[] before, int[] after, Pad.Mode mode) implements Op {
    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        Shape dy = inputs.getFirst();
        ShapeException.require(before != null && after != null && before.length == dy.rank() && after.length == dy.rank(),
                "before and after must have one entry per dimension of dy (rank %d)", dy.rank());
        int[] d = new int[dy.rank()];
        for (int i = 0; i < d.length; i++) {
            ShapeException.require(before[i] >= 0 && after[i] >= 0,
                    "padding must be >= 0, got before[%d] = %d, after[%d] = %d", i, before[i], i, after[i]);
            long n = (long) dy.dim(i) - before[i] - after[i];
            ShapeException.require(n >= 0, "dimension %d of dy is %d, less than the padding %d + %d",
                    i, dy.dim(i), before[i], after[i]);
            d[i] = (int) n;
        }
        Shape x = Shape.of(d);
        Pad.check(x, before, after, mode);
        return List.of(x);
    }

    @Override public List<Value> backward(GradContext g) {
        return List.of(g.builder().apply("pad", new Pad(before.clone(), after.clone(), 0, mode), g.gradOutput(0)));
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return inputs.getFirst().size(); }
}
