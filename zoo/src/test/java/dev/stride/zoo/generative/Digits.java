package dev.stride.zoo.generative;

import dev.stride.engine.Session;
import dev.stride.engine.Tensor;
import dev.stride.graph.Shape;
import dev.stride.zoo.data.GeneratedDigits;

import java.util.Map;

/** Test data: batches of generated digits in [0, 1] as tensors, and parameter snapshots. */
final class Digits {
    private Digits() {}

    static final GeneratedDigits DATA = new GeneratedDigits(64, 2024);

    /** Images {@code from .. from + n} of {@link #DATA}, [n, 1, 28, 28]. */
    static Tensor batch(int from, int n) {
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = from + i;
        float[] img = new float[n * 784];
        DATA.batch(idx, img, new float[n]);
        return Tensor.of(Shape.of(n, 1, 28, 28), img);
    }

    /** Labels of images {@code from .. from + n}, one-hot [n, 10]. */
    static Tensor oneHot(int from, int n) {
        float[] hot = new float[n * 10];
        for (int i = 0; i < n; i++) hot[i * 10 + DATA.label(from + i)] = 1;
        return Tensor.of(Shape.of(n, 10), hot);
    }

    static Tensor lr(double v) { return Tensor.scalar(dev.stride.graph.DType.F32, v); }

    /** Copies of every parameter and state tensor's values. */
    static Map<String, float[]> values(Session s) {
        var m = new java.util.LinkedHashMap<String, float[]>();
        s.persistent().forEach((k, v) -> m.put(k, v.toFloatArray()));
        return m;
    }

    static float[] floats(Map<String, Tensor> out, String name) { return out.get(name).toFloatArray(); }

    static double mean(float[] a) {
        double s = 0;
        for (float v : a) s += v;
        return s / a.length;
    }
}
