package dev.stride.engine.reference;

import dev.stride.graph.DType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A reference-kernel view of one buffer. Kernels are written once, in double arithmetic; a float buffer rounds
 * on store. So the float reference is the correctly rounded result of the double computation: a stricter oracle
 * than float accumulation, which is what fast kernels are compared against.
 */
public sealed interface Buf {
    double get(long i);

    void set(long i, double v);

    long length();

    default void add(long i, double v) { set(i, get(i) + v); }

    default void fill(double v) { for (long i = 0, n = length(); i < n; i++) set(i, v); }

    static Buf of(MemorySegment seg, DType dtype) {
        return dtype == DType.F32 ? new F32(seg) : new F64(seg);
    }

    record F32(MemorySegment seg) implements Buf {
        private static final ValueLayout.OfFloat L = ValueLayout.JAVA_FLOAT;
        @Override public double get(long i) { return seg.getAtIndex(L, i); }
        @Override public void set(long i, double v) { seg.setAtIndex(L, i, (float) v); }
        @Override public long length() { return seg.byteSize() / 4; }
    }

    record F64(MemorySegment seg) implements Buf {
        private static final ValueLayout.OfDouble L = ValueLayout.JAVA_DOUBLE;
        @Override public double get(long i) { return seg.getAtIndex(L, i); }
        @Override public void set(long i, double v) { seg.setAtIndex(L, i, v); }
        @Override public long length() { return seg.byteSize() / 8; }
    }
}
