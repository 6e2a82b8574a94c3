package dev.stride.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Writes a tile of a convolution's column matrix ({@link ConvGeometry}): rows [r0, r1) by output pixels [j0, j1)
 * of one image and group, row-major. Row r = (ci, ky, kx) is, for each output pixel (oy, ox), the input value
 * x[ci, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw], zero where that lies in the padding. With stride 1 along the
 * width each output row's run is a contiguous copy of an input row.
 */
final class Im2col {
    private Im2col() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final VectorSpecies<Float> S = VectorConfig.SPECIES;

    /**
     * Rows [r0, r1), columns [j0, j1) of the column matrix of the group whose channel 0 starts at float
     * {@code xAt} of {@code x}, into {@code dst} from float {@code dstAt}, {@code ld} floats per row.
     */
    static void fill(ConvGeometry g, MemorySegment x, long xAt, int r0, int r1, int j0, int j1,
                     MemorySegment dst, long dstAt, int ld, boolean simd) {
        int taps = g.kh * g.kw;
        for (int r = r0; r < r1; r++) {
            int ci = r / taps, ky = (r / g.kw) % g.kh, kx = r % g.kw;
            long plane = xAt + (long) ci * g.h * g.w;
            long d = dstAt + (long) (r - r0) * ld;
            int yLo = g.oyLo[ky], yHi = g.oyHi[ky], xLo = g.oxLo[kx], xHi = g.oxHi[kx];
            int xOff = kx * g.dw - g.pl;
            for (int j = j0; j < j1; ) {
                int oy = j / g.wo, ox0 = j - oy * g.wo, ox1 = Math.min(g.wo, ox0 + (j1 - j));
                if (oy < yLo || oy >= yHi) {
                    zero(dst, d, ox1 - ox0, simd);
                } else {
                    int lo = Math.clamp(xLo, ox0, ox1), hi = Math.clamp(xHi, lo, ox1);
                    zero(dst, d, lo - ox0, simd);
                    long src = plane + (long) (oy * g.sh - g.pt + ky * g.dh) * g.w + (long) lo * g.sw + xOff;
                    if (g.sw == 1) copy(x, src, dst, d + lo - ox0, hi - lo, simd);
                    else gather(x, src, g.sw, dst, d + lo - ox0, hi - lo);
                    zero(dst, d + hi - ox0, ox1 - hi, simd);
                }
                d += ox1 - ox0;
                j += ox1 - ox0;
            }
        }
    }

    /** dst[at + i] = 0, i < len (a loop, not asSlice().fill(): no segment object per run). */
    static void zero(MemorySegment dst, long at, int len, boolean simd) {
        int i = 0;
        if (simd) {
            FloatVector z = FloatVector.zero(S);
            for (int step = S.length(); i <= len - step; i += step) z.intoMemorySegment(dst, (at + i) * 4, NATIVE);
        }
        for (; i < len; i++) dst.setAtIndex(F, at + i, 0f);
    }

    /** dst[to + i] = src[from + i], i < len. */
    static void copy(MemorySegment src, long from, MemorySegment dst, long to, int len, boolean simd) {
        int i = 0;
        if (simd) {
            for (int step = S.length(); i <= len - step; i += step)
                FloatVector.fromMemorySegment(S, src, (from + i) * 4, NATIVE).intoMemorySegment(dst, (to + i) * 4, NATIVE);
        }
        for (; i < len; i++) dst.setAtIndex(F, to + i, src.getAtIndex(F, from + i));
    }

    /** dst[to + i] = src[from + i*stride], i < len. */
    private static void gather(MemorySegment src, long from, int stride, MemorySegment dst, long to, int len) {
        for (int i = 0; i < len; i++) dst.setAtIndex(F, to + i, src.getAtIndex(F, from + (long) i * stride));
    }
}
