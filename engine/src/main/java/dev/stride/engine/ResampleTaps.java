package dev.stride.engine;

import dev.stride.graph.op.Resize2d;
import dev.stride.graph.op.Upsample2d;

import java.util.Arrays;

/**
 * The source taps of resampling along one axis, shared by every backend's Upsample2d and Resize2d kernels and their
 * gradients (the reference's definition, the cpu's vector kernels, the cuda kernels' uploaded tables): output index
 * o reads source indices {@code i0[o]} and {@code i1[o]} with weights {@code w0[o]} and {@code w1[o]}
 * ({@code w0 = 1 - w1}). Nearest modes read one source ({@code i1 = i0}, {@code w0 = 1}, {@code w1 = 0}); linear
 * modes clamp both indices into [0, in), so the edge repeats outside the input. The source coordinates come from the
 * ops' own functions ({@link Upsample2d#linearSource}, {@link Resize2d#sourceCoordinate}, ...), so shape inference
 * and every kernel agree.
 */
public record ResampleTaps(int[] i0, int[] i1, double[] w0, double[] w1) {
    /** PyTorch's upsample_nearest2d / upsample_bilinear2d along an axis of {@code in} cells resized to {@code out}. */
    public static ResampleTaps upsample(Upsample2d.Mode mode, int in, int out, boolean alignCorners) {
        ResampleTaps t = empty(out);
        for (int o = 0; o < out; o++) {
            if (mode == Upsample2d.Mode.NEAREST) {
                t.i0[o] = t.i1[o] = Upsample2d.nearestSource(o, in, out);
                t.w0[o] = 1;
            } else {
                double src = Upsample2d.linearSource(o, in, out, alignCorners);
                int lo = Math.min((int) src, in - 1);
                t.i0[o] = lo;
                t.i1[o] = lo < in - 1 ? lo + 1 : lo;
                t.w1[o] = src - lo;
                t.w0[o] = 1 - t.w1[o];
            }
        }
        return t;
    }

    /** ONNX Resize's coordinate transformation and nearest modes along an axis, at {@code scale}. */
    public static ResampleTaps resize(Resize2d.Mode mode, Resize2d.Coord coord, Resize2d.Nearest nearest, int in,
                                      int out, double scale) {
        ResampleTaps t = empty(out);
        for (int o = 0; o < out; o++) {
            double src = Resize2d.sourceCoordinate(coord, o, in, out, scale);
            if (mode == Resize2d.Mode.NEAREST) {
                t.i0[o] = t.i1[o] = Resize2d.nearestIndex(nearest, src, in);
                t.w0[o] = 1;
            } else {
                double f = Math.floor(src);
                t.i0[o] = (int) Math.max(0, Math.min(in - 1, f));
                t.i1[o] = (int) Math.max(0, Math.min(in - 1, f + 1));
                t.w1[o] = src - f;
                t.w0[o] = 1 - t.w1[o];
            }
        }
        return t;
    }

    private static ResampleTaps empty(int out) {
        return new ResampleTaps(new int[out], new int[out], new double[out], new double[out]);
    }

    /** Output cells along the axis. */
    public int size() { return i0.length; }

    /** The weights rounded to float, for float kernels. */
    public float[] w0f() { return toFloat(w0); }

    public float[] w1f() { return toFloat(w1); }

    /** The indices as longs, for device tables. */
    public long[] i0l() { return Arrays.stream(i0).asLongStream().toArray(); }

    public long[] i1l() { return Arrays.stream(i1).asLongStream().toArray(); }

    private static float[] toFloat(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) f[i] = (float) a[i];
        return f;
    }
}
