package dev.stride.graph;

import java.util.List;

/**
 * An operation of the IR: an immutable record of attributes that owns its shape rule and its gradient.
 *
 * <p>Contract for implementations (all in {@code dev.stride.graph.op}):
 * <ul>
 *   <li>A record whose components are only {@code int, long, double, boolean, String, int[], long[], double[]}
 *       or enums: the plan file serialises ops reflectively from those components.</li>
 *   <li>The canonical constructor does not validate; {@link #inferShapes} validates attributes and shapes and
 *       throws {@link ShapeException} with the rule broken and its numbers. The builder adds the node name,
 *       op and input shapes, and a loaded plan re-runs it, so a hostile file cannot smuggle in a bad op.</li>
 *   <li>{@link #backward} expresses the input gradients as more graph ops.</li>
 * </ul>
 */
public interface Op {
    /** Name shown in errors and {@code stride plan explain}: the record's simple name by default. */
    default String kind() { return getClass().getSimpleName(); }

    /** Output shapes for these input shapes; throws {@link ShapeException} when a rule is broken. */
    List<Shape> inferShapes(List<Shape> inputs);

    /**
     * Gradients with respect to each input, built with {@code g.builder()}: a list as long as the inputs,
     * with {@code null} where an input takes no gradient or {@code !g.needsGrad(i)}.
     */
    List<Value> backward(GradContext g);

    /** Floating-point operations of one execution (multiply-add = 2); an elementwise op counts its outputs. */
    default long flops(List<Shape> inputs, List<Shape> outputs) {
        long n = 0;
        for (Shape s : outputs) n += s.size();
        return n;
    }

    /** Ops that are not differentiable at all (sources, gradient kernels) may use this as their backward. */
    static List<Value> noGradient(GradContext g) {
        return java.util.Collections.nCopies(g.node().inputs().size(), null);
    }

    /** Requires exactly {@code n} inputs. */
    static void requireArity(List<Shape> inputs, int n) {
        ShapeException.require(inputs.size() == n, "expects %d input(s), got %d", n, inputs.size());
    }

    /** Requires {@code min..max} inputs. */
    static void requireArity(List<Shape> inputs, int min, int max) {
        ShapeException.require(inputs.size() >= min && inputs.size() <= max,
                "expects %d to %d inputs, got %d", min, max, inputs.size());
    }
}
