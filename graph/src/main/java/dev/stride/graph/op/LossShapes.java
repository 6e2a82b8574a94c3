package dev.stride.graph.op;

import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;

/** Shape rules shared by the mean-reduced losses and their gradient ops. */
final class LossShapes {
    private LossShapes() {}

    /** Two operands of one shape with at least one element (a mean over nothing is undefined). */
    static void sameNonEmpty(String a, Shape sa, String b, Shape sb) {
        ShapeException.require(sa.equals(sb), "%s and %s must have the same shape, got %s and %s", a, b, sa, sb);
        ShapeException.require(sa.size() >= 1, "the mean needs at least one element, %s %s has none", a, sa);
    }

    /** The incoming gradient of a scalar loss. */
    static void scalarGrad(Shape dy) {
        ShapeException.require(dy.rank() == 0, "dy must be a scalar [], got %s", dy);
    }
}
