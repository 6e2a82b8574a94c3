package dev.stride.graph.op;

import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;

/** Shape rules shared by the optimizer update ops. */
final class UpdateShapes {
    private UpdateShapes() {}

    /** A state tensor or gradient must have the parameter's shape. */
    static void requireLike(Shape param, Shape s, String what) {
        ShapeException.require(s.equals(param), "%s must have the shape of the parameter %s, got %s", what, param, s);
    }

    static void requireScalar(Shape s, String what) {
        ShapeException.require(s.rank() == 0, "%s must be a scalar [], got %s", what, s);
    }
}
