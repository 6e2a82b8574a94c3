package dev.stride.graph.op;

import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;

/** NumPy broadcasting: shapes align at the right; each pair of dimensions is equal or one of them is 1. */
public final class Broadcast {
    private Broadcast() {}

    public static Shape shape(Shape a, Shape b) {
        int r = Math.max(a.rank(), b.rank());
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            int da = i < r - a.rank() ? 1 : a.dim(i - (r - a.rank()));
            int db = i < r - b.rank() ? 1 : b.dim(i - (r - b.rank()));
            ShapeException.require(da == db || da == 1 || db == 1,
                    "shapes %s and %s do not broadcast: dimension %d (from the right) is %d vs %d",
                    a, b, r - i, da, db);
            out[i] = da == 1 ? db : da;
        }
        return Shape.of(out);
    }

    /** Whether {@code from} broadcasts to exactly {@code to}. */
    public static boolean broadcastsTo(Shape from, Shape to) {
        if (from.rank() > to.rank()) return false;
        int off = to.rank() - from.rank();
        for (int i = 0; i < from.rank(); i++) {
            if (from.dim(i) != 1 && from.dim(i) != to.dim(off + i)) return false;
        }
        return true;
    }
}
