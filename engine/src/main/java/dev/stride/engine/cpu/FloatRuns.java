package dev.stride.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Copying and filling contiguous runs of floats in segments, the building blocks of the data-movement kernels
 * (reshape, pad, slice, concat). Long runs go through {@link MemorySegment#copy}; short ones (a padded or sliced
 * innermost axis of a few elements) through a plain loop, which costs less than a bulk copy's checks.
 */
final class FloatRuns {
    private FloatRuns() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final VectorSpecies<Float> S = PoolKernels.S;   // a constant: see PoolKernels.S

    /** Runs shorter than this many floats are copied element by element. */
    static final int SHORT_RUN = 16;

    /** Copies {@code n} floats from float index {@code from} of {@code src} to float index {@code to} of {@code dst}. */
    static void copy(MemorySegment src, long from, MemorySegment dst, long to, long n) {
        if (n >= SHORT_RUN) {
            MemorySegment.copy(src, from * Float.BYTES, dst, to * Float.BYTES, n * Float.BYTES);
        } else {
            for (long i = 0; i < n; i++) dst.setAtIndex(F, to + i, src.getAtIndex(F, from + i));
        }
    }

    /** Sets {@code n} floats from float index {@code at} of {@code dst} to {@code v}. */
    static void fill(MemorySegment dst, long at, long n, float v, boolean simd) {
        long i = 0;
        if (simd) {
            FloatVector vv = FloatVector.broadcast(S, v);
            for (int step = S.length(); i <= n - step; i += step) vv.intoMemorySegment(dst, (at + i) * Float.BYTES, NATIVE);
        }
        for (; i < n; i++) dst.setAtIndex(F, at + i, v);
    }
}
