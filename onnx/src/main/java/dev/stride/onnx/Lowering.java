package dev.stride.onnx;

import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.Reshape;

import java.util.Arrays;

/** Small helpers the mappers share: reshapes that are no-ops when the shape already matches, dims conversions. */
final class Lowering {
    private Lowering() {}

    /** {@code v} under {@code dims} (same element count); {@code v} itself when the shape already is that. */
    static Value reshape(NodeContext c, String step, Value v, int... dims) {
        if (Arrays.equals(v.shape().dims(), dims)) return v;
        return c.apply(step, new Reshape(dims.clone()), v);
    }

    /** The final op of a mapping is named after the ONNX output: reshape to the output's dims under that name. */
    static Value reshapeOut(NodeContext c, Value v, int... dims) {
        if (Arrays.equals(v.shape().dims(), dims)) return v;
        return c.apply(null, new Reshape(dims.clone()), v);
    }

    static long[] longs(int[] a) { return Arrays.stream(a).asLongStream().toArray(); }

    static long[] longs(Shape s) { return longs(s.dims()); }

    static int[] ints(NodeContext c, long[] a) {
        int[] r = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            if (a[i] < Integer.MIN_VALUE || a[i] > Integer.MAX_VALUE)
                throw c.invalid("value %d in %s is out of range", a[i], Arrays.toString(a));
            r[i] = (int) a[i];
        }
        return r;
    }

    static long product(long[] d, int from, int to) {
        long p = 1;
        for (int i = from; i < to; i++) p = Math.multiplyExact(p, d[i]);
        return p;
    }

    static int product(int[] d, int from, int to) {
        long p = 1;
        for (int i = from; i < to; i++) p = Math.multiplyExact(p, d[i]);
        return Math.toIntExact(p);
    }

    /** Every value in {@code a} equals {@code v}. */
    static boolean all(long[] a, long v) {
        for (long x : a) if (x != v) return false;
        return true;
    }
}
