package dev.stride.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Writes a tile of a convolution's column matrix ({@link ConvGeometry}), row-major: rows [r0, r1) by output
 * pixels [j0, j1) of one image and group. Row r = (ci, ky, kx) is, for each output pixel (oy, ox), the input
 * value x[ci, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw], zero where that lies in the padding. With stride 1 along
 * the width each output row's run is a contiguous copy of an input row. {@link Im2colPanels} writes the same
 * values straight into a GEMM's packed-B panels.
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
        if (g.shifted()) {
            fillShifted(g, x, xAt, r0, r1, j0, j1, dst, dstAt, ld, simd);
            return;
        }
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
                    else gather(x, src, g.sw, dst, d + lo - ox0, hi - lo, simd);
                    zero(dst, d + hi - ox0, ox1 - hi, simd);
                }
                d += ox1 - ox0;
                j += ox1 - ox0;
            }
        }
    }

    /**
     * {@link ConvGeometry#shifted()}: row (ci, ky, kx) is one shifted copy of the input plane
     * ({@link ConvGeometry#rowOffset}), copied in one run; the positions in the padding (output rows whose input
     * row is outside, and the first / last columns of each output row, which the shift wrapped to the
     * neighbouring input row) are zeroed after. Per output row the general loop has three calls and a division,
     * and ran at a third of the speed of this one.
     */
    private static void fillShifted(ConvGeometry g, MemorySegment x, long xAt, int r0, int r1, int j0, int j1,
                                    MemorySegment dst, long dstAt, int ld, boolean simd) {
        int wo = g.wo;
        for (int r = r0; r < r1; r++) {
            long d = dstAt + (long) (r - r0) * ld - j0;            // column j is at d + j
            int a = Math.max(j0, g.validFrom(r)), b = Math.min(j1, g.validTo(r));
            if (a >= b) {
                zero(dst, d + j0, j1 - j0, simd);
                continue;
            }
            zero(dst, d + j0, a - j0, simd);
            copy(x, xAt + g.rowOffset(r) + a, dst, d + a, b - a, simd);
            zero(dst, d + b, j1 - b, simd);
            int kx = r % g.kw, xLo = g.oxLo[kx], xHi = g.oxHi[kx];
            if (xLo == 0 && xHi == wo) continue;
            for (int rowStart = a / wo * wo; rowStart < b; rowStart += wo) {
                // columns [0, xLo) and [xHi, wo) of this output row, within [a, b)
                for (int j = Math.max(a, rowStart), end = Math.min(b, rowStart + xLo); j < end; j++)
                    dst.setAtIndex(F, d + j, 0f);
                for (int j = Math.max(a, rowStart + xHi), end = Math.min(b, rowStart + wo); j < end; j++)
                    dst.setAtIndex(F, d + j, 0f);
            }
        }
    }

    /**
     * dst[at + i] = 0, i < len. Vectors, the last one ending at len and overlapping the one before: runs are
     * output rows, often a vector and a few floats long, and a scalar tail cost as much as the vectors.
     */
    static void zero(MemorySegment dst, long at, int len, boolean simd) {
        int step = S.length();
        if (simd && len >= step) {
            FloatVector z = FloatVector.zero(S);
            for (int i = 0; i < len - step; i += step) z.intoMemorySegment(dst, (at + i) * 4, NATIVE);
            z.intoMemorySegment(dst, (at + len - step) * 4, NATIVE);
            return;
        }
        for (int i = 0; i < len; i++) dst.setAtIndex(F, at + i, 0f);
    }

    /** dst[to + i] = src[from + i], i < len; the tail as in {@link #zero} (it writes the same values twice). */
    static void copy(MemorySegment src, long from, MemorySegment dst, long to, int len, boolean simd) {
        int step = S.length();
        if (simd && len >= step) {
            for (int i = 0; i < len - step; i += step)
                FloatVector.fromMemorySegment(S, src, (from + i) * 4, NATIVE).intoMemorySegment(dst, (to + i) * 4, NATIVE);
            int last = len - step;
            FloatVector.fromMemorySegment(S, src, (from + last) * 4, NATIVE).intoMemorySegment(dst, (to + last) * 4, NATIVE);
            return;
        }
        for (int i = 0; i < len; i++) dst.setAtIndex(F, to + i, src.getAtIndex(F, from + i));
    }

    /**
     * The images of an NCHW tensor side by side, channel-major: dst[c][i][j] = src[i][c][j] for {@code images}
     * images of {@code channels} planes of {@code plane} floats. In this layout channel c of a slab of images
     * [i0, i1) is one row of (i1 - i0) * plane floats at (c * images + i0) * plane, and a group's channels are
     * consecutive rows {@code images * plane} floats apart: a GEMM operand as it is.
     */
    static void channelMajor(MemorySegment src, MemorySegment dst, int images, int channels, int plane, boolean simd) {
        for (int i = 0; i < images; i++)
            for (int c = 0; c < channels; c++)
                copy(src, ((long) i * channels + c) * plane, dst, ((long) c * images + i) * plane, plane, simd);
    }

    /** The even lanes of two consecutive vectors: a stride-2 gather from one two-vector load. */
    private static final VectorShuffle<Float> EVEN = VectorShuffle.fromOp(S, i -> 2 * i);

    /**
     * dst[to + i] = src[from + i*stride], i < len. Stride 2 (ResNet's downsampling layers) takes the even lanes
     * of two vectors while the second vector's reads stay within the elements the gather needs.
     */
    private static void gather(MemorySegment src, long from, int stride, MemorySegment dst, long to, int len,
                               boolean simd) {
        int i = 0;
        if (simd && stride == 2) {
            int step = S.length();
            for (; i + step < len; i += step) {
                long at = (from + 2L * i) * 4;
                FloatVector.fromMemorySegment(S, src, at, NATIVE)
                        .rearrange(EVEN, FloatVector.fromMemorySegment(S, src, at + 4L * step, NATIVE))
                        .intoMemorySegment(dst, (to + i) * 4, NATIVE);
            }
        }
        for (; i < len; i++) dst.setAtIndex(F, to + i, src.getAtIndex(F, from + (long) i * stride));
    }

    /**
     * im2col and col2im for small output planes (the batched path, {@link ColumnTiles#slabs}), where output rows
     * are a few pixels long and the run-by-run loops of {@link #fill} and {@link Col2im#add} spend their time on
     * bookkeeping (3.6 ns per element at stride 2 on a 7x7 plane, against 1.15 here). The group's input channels
     * live in a zero-bordered array, big enough that every tap lands inside it; row (ci, ky, kx) of the column
     * matrix is then, for every output pixel j, the element at a constant offset (channel ci, row ky, column kx)
     * plus rel[j] (the pixel's top-left tap): one gather with one index table for every row, no padding tests.
     *
     * <p>One instance per worker: it holds the planes of one image's group.
     */
    static final class Padded {
        private final ConvGeometry g;
        private final int hp, wp;            // the padded plane
        private final int[] rel;             // per output pixel: its top-left tap in the padded plane
        private final float[] planes;        // cg planes of hp x wp
        private final boolean simd;

        Padded(ConvGeometry g, boolean simd) {
            this.g = g;
            this.simd = simd;
            hp = Math.max(g.pt + g.h, (g.ho - 1) * g.sh + (g.kh - 1) * g.dh + 1);
            wp = Math.max(g.pl + g.w, (g.wo - 1) * g.sw + (g.kw - 1) * g.dw + 1);
            rel = new int[g.plane];
            for (int j = 0; j < g.plane; j++) rel[j] = (j / g.wo) * g.sh * wp + (j % g.wo) * g.sw;
            planes = new float[g.cg * hp * wp];
        }

        /**
         * Copies channels [c0, c1) of the group whose channel 0 starts at float {@code xAt} of {@code x} into the
         * padded planes; the border, never written, stays zero.
         */
        void load(MemorySegment x, long xAt, int c0, int c1) {
            for (int ci = c0; ci < c1; ci++)
                for (int iy = 0; iy < g.h; iy++)
                    MemorySegment.copy(x, F, (xAt + ((long) ci * g.h + iy) * g.w) * 4, planes,
                            (ci * hp + g.pt + iy) * wp + g.pl, g.w);
        }

        /**
         * Rows [r0, r1), every pixel, of the column matrix of the channels last {@link #load loaded}, into
         * {@code dst} from float {@code dstAt}, {@code ld} floats per row.
         */
        void fill(int r0, int r1, MemorySegment dst, long dstAt, int ld) {
            int plane = g.plane, taps = g.kh * g.kw, step = S.length();
            int full = simd ? plane - plane % step : 0;
            for (int r = r0; r < r1; r++) {
                int off = offset(r, taps);
                long d = dstAt + (long) (r - r0) * ld;
                int j = 0;
                for (; j < full; j += step)
                    FloatVector.fromArray(S, planes, off, rel, j).intoMemorySegment(dst, (d + j) * 4, NATIVE);
                for (; j < plane; j++) dst.setAtIndex(F, d + j, planes[off + rel[j]]);
            }
        }

        /**
         * col2im: sets channels [c0, c1) of the planes to {@code values[at + ci]} (or zero when null), adds rows
         * [r0, r1) of a column matrix (from float {@code srcAt} of {@code src}, {@code ld} floats per row) onto
         * the positions their taps read, in row order and pixel order within a row, and stores the channels'
         * interiors into the group whose channel 0 is at float {@code dxAt} of {@code dx}. Rows must belong to
         * channels [c0, c1). The border collects the padding taps' terms and is dropped.
         */
        void scatter(MemorySegment src, long srcAt, int ld, int r0, int r1, int c0, int c1, float[] values, int at,
                     MemorySegment dx, long dxAt) {
            int size = hp * wp, taps = g.kh * g.kw, plane = g.plane;
            for (int ci = c0; ci < c1; ci++)
                java.util.Arrays.fill(planes, ci * size, (ci + 1) * size, values == null ? 0f : values[at + ci]);
            for (int r = r0; r < r1; r++) {
                int off = offset(r, taps);
                long s = srcAt + (long) (r - r0) * ld;
                for (int j = 0; j < plane; j++) planes[off + rel[j]] += src.getAtIndex(F, s + j);
            }
            for (int ci = c0; ci < c1; ci++)
                for (int iy = 0; iy < g.h; iy++)
                    MemorySegment.copy(planes, (ci * hp + g.pt + iy) * wp + g.pl, dx, F,
                            (dxAt + ((long) ci * g.h + iy) * g.w) * 4, g.w);
        }

        /** Where row r = (ci, ky, kx)'s tap of output pixel 0 lies in the planes. */
        private int offset(int r, int taps) {
            int ci = r / taps, ky = (r / g.kw) % g.kh, kx = r % g.kw;
            return (ci * hp + ky * g.dh) * wp + kx * g.dw;
        }
    }
}
