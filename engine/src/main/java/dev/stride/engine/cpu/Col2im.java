package dev.stride.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The adjoint of {@link Im2col}: adds a tile of a column matrix, rows [r0, r1) by output pixels [j0, j1), back
 * onto the input positions each (row, pixel) was read from; padding positions are dropped. Rows are visited in
 * order and pixels in order within a row, so every input element receives its contributions in a fixed order.
 */
final class Col2im {
    private Col2im() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final VectorSpecies<Float> S = VectorConfig.SPECIES;

    /**
     * dx += col2im(tile): the tile is at float {@code srcAt} of {@code src}, {@code ld} floats per row; the
     * group's input channel 0 starts at float {@code dxAt} of {@code dx}.
     */
    static void add(ConvGeometry g, MemorySegment src, long srcAt, int ld, int r0, int r1, int j0, int j1,
                    MemorySegment dx, long dxAt, boolean simd) {
        int taps = g.kh * g.kw;
        for (int r = r0; r < r1; r++) {
            int ci = r / taps, ky = (r / g.kw) % g.kh, kx = r % g.kw;
            long plane = dxAt + (long) ci * g.h * g.w;
            long s = srcAt + (long) (r - r0) * ld;
            int yLo = g.oyLo[ky], yHi = g.oyHi[ky], xLo = g.oxLo[kx], xHi = g.oxHi[kx];
            int xOff = kx * g.dw - g.pl;
            for (int j = j0; j < j1; ) {
                int oy = j / g.wo, ox0 = j - oy * g.wo, ox1 = Math.min(g.wo, ox0 + (j1 - j));
                if (oy >= yLo && oy < yHi) {
                    int lo = Math.clamp(xLo, ox0, ox1), hi = Math.clamp(xHi, lo, ox1);
                    long to = plane + (long) (oy * g.sh - g.pt + ky * g.dh) * g.w + (long) lo * g.sw + xOff;
                    if (g.sw == 1) addRun(src, s + lo - ox0, dx, to, hi - lo, simd);
                    else scatter(src, s + lo - ox0, dx, to, g.sw, hi - lo);
                }
                s += ox1 - ox0;
                j += ox1 - ox0;
            }
        }
    }

    /** dst[to + i] += src[from + i], i < len. */
    private static void addRun(MemorySegment src, long from, MemorySegment dst, long to, int len, boolean simd) {
        int i = 0;
        if (simd) {
            for (int step = S.length(); i <= len - step; i += step) {
                long a = (from + i) * 4, b = (to + i) * 4;
                FloatVector.fromMemorySegment(S, dst, b, NATIVE).add(FloatVector.fromMemorySegment(S, src, a, NATIVE))
                        .intoMemorySegment(dst, b, NATIVE);
            }
        }
        for (; i < len; i++) dst.setAtIndex(F, to + i, dst.getAtIndex(F, to + i) + src.getAtIndex(F, from + i));
    }

    /** dst[to + i*stride] += src[from + i], i < len. */
    private static void scatter(MemorySegment src, long from, MemorySegment dst, long to, int stride, int len) {
        for (int i = 0; i < len; i++) {
            long at = to + (long) i * stride;
            dst.setAtIndex(F, at, dst.getAtIndex(F, at) + src.getAtIndex(F, from + i));
        }
    }
}
