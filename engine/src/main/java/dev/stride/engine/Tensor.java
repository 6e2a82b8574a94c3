package dev.stride.engine;

import dev.stride.graph.DType;
import dev.stride.graph.Shape;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * A host tensor: shape, dtype and row-major (NCHW) data in a heap-backed {@link MemorySegment}. What callers bind
 * as inputs and receive as outputs; backends copy it in and out of their own buffers.
 */
public final class Tensor {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfDouble D = ValueLayout.JAVA_DOUBLE_UNALIGNED;

    private final Shape shape;
    private final DType dtype;
    private final MemorySegment data;

    private Tensor(Shape shape, DType dtype, MemorySegment data) {
        if (data.byteSize() != shape.size() * dtype.bytes)
            throw new IllegalArgumentException("tensor of shape " + shape + " needs " + shape.size()
                    + " elements, got " + data.byteSize() / dtype.bytes);
        this.shape = shape;
        this.dtype = dtype;
        this.data = data;
    }

    public static Tensor of(Shape shape, float... data) { return new Tensor(shape, DType.F32, MemorySegment.ofArray(data)); }

    public static Tensor of(Shape shape, double... data) { return new Tensor(shape, DType.F64, MemorySegment.ofArray(data)); }

    public static Tensor zeros(DType dtype, Shape shape) {
        int n = Math.toIntExact(shape.size());
        return dtype == DType.F32 ? of(shape, new float[n]) : of(shape, new double[n]);
    }

    public static Tensor scalar(DType dtype, double v) {
        Tensor t = zeros(dtype, Shape.SCALAR);
        t.set(0, v);
        return t;
    }

    public Shape shape() { return shape; }

    public DType dtype() { return dtype; }

    public long size() { return shape.size(); }

    /** The backing memory: little-endian on every supported platform, row-major. */
    public MemorySegment segment() { return data; }

    public double get(long i) {
        return dtype == DType.F32 ? data.getAtIndex(F, i) : data.getAtIndex(D, i);
    }

    public void set(long i, double v) {
        if (dtype == DType.F32) data.setAtIndex(F, i, (float) v);
        else data.setAtIndex(D, i, v);
    }

    /** Element at a multi-index. */
    public double get(int... idx) {
        if (idx.length != shape.rank())
            throw new IllegalArgumentException("index " + Arrays.toString(idx) + " for shape " + shape);
        long flat = 0;
        for (int i = 0; i < idx.length; i++) {
            if (idx[i] < 0 || idx[i] >= shape.dim(i))
                throw new IndexOutOfBoundsException("index " + Arrays.toString(idx) + " for shape " + shape);
            flat = flat * shape.dim(i) + idx[i];
        }
        return get(flat);
    }

    public float[] toFloatArray() {
        float[] a = new float[Math.toIntExact(size())];
        for (int i = 0; i < a.length; i++) a[i] = (float) get(i);
        return a;
    }

    public double[] toDoubleArray() {
        double[] a = new double[Math.toIntExact(size())];
        for (int i = 0; i < a.length; i++) a[i] = get(i);
        return a;
    }

    /** A copy converted to {@code to} (the same tensor when already of that dtype and {@code copy} is false). */
    public Tensor as(DType to) {
        if (to == dtype) return this;
        Tensor t = zeros(to, shape);
        for (long i = 0; i < size(); i++) t.set(i, get(i));
        return t;
    }

    /** Same data, another shape of equal size. */
    public Tensor reshape(Shape s) { return new Tensor(s, dtype, data); }

    public double item() {
        if (size() != 1) throw new IllegalStateException("item() of a tensor of shape " + shape);
        return get(0);
    }

    @Override public String toString() { return "Tensor" + shape + " " + dtype; }
}
