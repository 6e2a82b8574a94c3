package dev.stride.graph.op;

import dev.stride.graph.GradContext;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.Value;

import java.util.Arrays;
import java.util.List;

/**
 * Padding of a tensor of any rank: dimension i grows by {@code before[i]} cells in front and {@code after[i]}
 * behind. The new cells hold {@code value} (CONSTANT) or copies of the tensor's own cells (the other modes, which
 * ignore {@code value}; see {@link #sourceIndex}). Cropping is {@link Slice}, the adjoint of constant padding.
 */
public record Pad(int[] before, int[] after, double value, Mode mode) implements Op {
    /** ONNX Pad's modes, each as numpy.pad has it. */
    public enum Mode {
        /** {@code value}. */
        CONSTANT,
        /** The mirror image without repeating the edge: [1, 2, 3] padded by 2 is 3 2 [1 2 3] 2 1. */
        REFLECT,
        /** The edge cell repeated: 1 1 [1 2 3] 3 3. */
        EDGE,
        /** The tensor repeated periodically: 2 3 [1 2 3] 1 2. */
        WRAP
    }

    /** The canonical constructor before {@code mode} existed: plan files written then load through it. */
    public Pad(int[] before, int[] after, double value) { this(before, after, value, Mode.CONSTANT); }

    /**
     * Which cell of an axis of size {@code n} the padded position {@code i} copies ({@code i} counted from the
     * axis's first real cell, so negative in front), or -1 for a CONSTANT cell. Reflection and wrapping repeat
     * as far as needed, as numpy.pad does for pads longer than the axis.
     */
    public static int sourceIndex(Mode mode, int i, int n) {
        if (i >= 0 && i < n) return i;
        return switch (mode) {
            case CONSTANT -> -1;
            case EDGE -> i < 0 ? 0 : n - 1;
            case WRAP -> Math.floorMod(i, n);
            case REFLECT -> {
                if (n == 1) yield 0;
                int period = 2 * (n - 1), m = Math.floorMod(i, period);
                yield m < n ? m : period - m;
            }
        };
    }

    @Override public List<Shape> inferShapes(List<Shape> inputs) {
        Op.requireArity(inputs, 1);
        Shape x = inputs.getFirst();
        check(x, before, after, mode);
        int[] d = x.dims();
        for (int i = 0; i < d.length; i++) {
            long n = (long) d[i] + before[i] + after[i];
            ShapeException.require(n <= Integer.MAX_VALUE, "padded dimension %d = %d + %d + %d overflows an int",
                    i, d[i], before[i], after[i]);
            d[i] = (int) n;
        }
        return List.of(Shape.of(d));
    }

    /** Checks the attributes against the unpadded shape {@code x}. */
    static void check(Shape x, int[] before, int[] after, Mode mode) {
        ShapeException.require(mode != null, "mode must be set");
        ShapeException.require(before != null && after != null, "before and after must be given");
        ShapeException.require(before.length == x.rank() && after.length == x.rank(),
                "before %s and after %s must have one entry per input dimension (rank %d)",
                Arrays.toString(before), Arrays.toString(after), x.rank());
        for (int i = 0; i < x.rank(); i++) {
            ShapeException.require(before[i] >= 0 && after[i] >= 0,
                    "padding must be >= 0 (crop with Slice), got before[%d] = %d, after[%d] = %d",
                    i, before[i], i, after[i]);
            ShapeException.require(mode == Mode.CONSTANT || x.dim(i) >= 1 || before[i] + after[i] == 0,
                    "%s padding copies cells of dimension %d, which has none (size 0)", mode, i);
        }
    }

    /** Constant: the window of dy where x sits; the others add each copied cell's gradient to its source. */
    @Override public List<Value> backward(GradContext g) {
        if (mode == Mode.CONSTANT) {
            int[] d = g.input(0).shape().dims();
            int[] ends = new int[d.length];
            for (int i = 0; i < d.length; i++) ends[i] = before[i] + d[i];
            return List.of(g.builder().apply("unpad", new Slice(before.clone(), ends), g.gradOutput(0)));
        }
        return List.of(g.builder().apply("pad_grad", new PadBackward(before.clone(), after.clone(), mode),
                g.gradOutput(0)));
    }

    @Override public long flops(List<Shape> inputs, List<Shape> outputs) { return 0; }
}
