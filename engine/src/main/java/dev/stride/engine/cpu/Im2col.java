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
     * of each image of a slab live in a zero-bordered array, big enough that every tap lands inside it; element
     * (row r = (ci, ky, kx), slab column j) of the column matrix is then planes[rowOffset[r] + column[j]], the
     * row's constant offset (image 0, channel ci, tap ky, kx) plus the column's (its image's planes, its pixel's
     * top-left tap): gathers through two index tables, no padding tests, images side by side for free.
     *
     * <p>The column matrix is written row-major ({@link #fill}), or straight into a GEMM's packed-B panels
     * ({@link #fillPanels}: the forward's K x N operand; {@link #fillPanelsTransposed}: the filter gradient's
     * col^T), which spares the GEMM its own packing pass over it.
     *
     * <p>One instance per worker: it holds the planes of one slab's group.
     */
    static final class Padded {
        private final ConvGeometry g;
        private final int hp, wp;            // the padded plane
        private final int image;             // floats of one image's padded planes: cg * hp * wp
        private final int[] rel;             // per output pixel: its top-left tap in the padded plane
        private final int[] column;          // per slab column (image i, pixel j): i * image + rel[j]
        private final int[] rowOffset;       // per column-matrix row (ci, ky, kx): its tap in image 0's planes
        private final float[] planes;        // per image of the slab, cg planes of hp x wp
        private final boolean simd;

        /** For slabs of up to {@code images} images. */
        Padded(ConvGeometry g, int images, boolean simd) {
            this.g = g;
            this.simd = simd;
            hp = Math.max(g.pt + g.h, (g.ho - 1) * g.sh + (g.kh - 1) * g.dh + 1);
            wp = Math.max(g.pl + g.w, (g.wo - 1) * g.sw + (g.kw - 1) * g.dw + 1);
            image = g.cg * hp * wp;
            rel = new int[g.plane];
            for (int j = 0; j < g.plane; j++) rel[j] = (j / g.wo) * g.sh * wp + (j % g.wo) * g.sw;
            column = new int[images * g.plane];
            for (int j = 0; j < column.length; j++) column[j] = j / g.plane * image + rel[j % g.plane];
            int taps = g.kh * g.kw;
            rowOffset = new int[g.k];
            for (int r = 0; r < g.k; r++) {
                int ci = r / taps, ky = (r / g.kw) % g.kh, kx = r % g.kw;
                rowOffset[r] = (ci * hp + ky * g.dh) * wp + kx * g.dw;
            }
            planes = new float[images * image];
        }

        /**
         * Copies channels [c0, c1) of the group whose channel 0 starts at float {@code xAt} of {@code x} into the
         * padded planes of image {@code i} of the slab; the border, never written, stays zero.
         */
        void load(int i, MemorySegment x, long xAt, int c0, int c1) {
            for (int ci = c0; ci < c1; ci++)
                for (int iy = 0; iy < g.h; iy++)
                    MemorySegment.copy(x, F, (xAt + ((long) ci * g.h + iy) * g.w) * 4, planes,
                            i * image + (ci * hp + g.pt + iy) * wp + g.pl, g.w);
        }

        /**
         * Rows [r0, r1), slab columns [0, cols), of the column matrix of the channels {@link #load loaded}, into
         * {@code dst} from float {@code dstAt}, {@code ld} floats per row.
         */
        void fill(int r0, int r1, int cols, MemorySegment dst, long dstAt, int ld) {
            int step = S.length(), full = simd ? cols - cols % step : 0;
            for (int r = r0; r < r1; r++) {
                int off = rowOffset[r];
                long d = dstAt + (long) (r - r0) * ld;
                int j = 0;
                for (; j < full; j += step)
                    FloatVector.fromArray(S, planes, off, column, j).intoMemorySegment(dst, (d + j) * 4, NATIVE);
                for (; j < cols; j++) dst.setAtIndex(F, d + j, planes[off + column[j]]);
            }
        }

        /**
         * The whole column matrix, g.k x {@code cols}, as a GEMM's packed right operand {@code b}: K blocks of
         * {@code kStep} rows (the {@link Sgemm#kcFor} of the GEMM that reads it), panels of NR columns, each panel
         * row NR consecutive slab columns of one matrix row (two gathers when NR is two vectors). Lanes past
         * {@code cols} are left as they are.
         */
        void fillPanels(int cols, Sgemm.PackedB b, int kStep) {
            check(b, g.k, cols);
            int nr = b.nr, paddedN = Sgemm.roundUp(cols, nr), step = S.length();
            boolean vector = simd && nr == 2 * step;
            float[] dst = b.data;
            for (int pc = 0; pc < g.k; pc += kStep) {
                int end = Math.min(g.k, pc + kStep), kcb = end - pc;
                for (int c0 = 0; c0 < cols; c0 += nr) {
                    int width = Math.min(nr, cols - c0), at = pc * paddedN + c0 * kcb;
                    for (int r = pc; r < end; r++, at += nr) {
                        int off = rowOffset[r];
                        if (vector && width == nr) {
                            FloatVector.fromArray(S, planes, off, column, c0).intoArray(dst, at);
                            FloatVector.fromArray(S, planes, off, column, c0 + step).intoArray(dst, at + step);
                        } else {
                            for (int i = 0; i < width; i++) dst[at + i] = planes[off + column[c0 + i]];
                        }
                    }
                }
            }
        }

        /**
         * Rows [r0, r1) of the column matrix transposed, {@code cols} x (r1 - r0), as a GEMM's packed right
         * operand {@code b} (K blocks of {@code kStep}, the reading GEMM's kcFor(cols)): the filter gradient's
         * col^T, whose K runs over the slab's columns. A panel row is
         * NR consecutive matrix rows at one slab column: a gather through the row offsets.
         */
        void fillPanelsTransposed(int r0, int r1, int cols, Sgemm.PackedB b, int kStep) {
            check(b, cols, r1 - r0);
            int n = r1 - r0, nr = b.nr, paddedN = Sgemm.roundUp(n, nr), step = S.length();
            boolean vector = simd && nr == 2 * step;
            float[] dst = b.data;
            for (int pc = 0; pc < cols; pc += kStep) {
                int end = Math.min(cols, pc + kStep), kcb = end - pc;
                for (int q0 = 0; q0 < n; q0 += nr) {
                    int width = Math.min(nr, n - q0), at = pc * paddedN + q0 * kcb, rows = r0 + q0;
                    for (int j = pc; j < end; j++, at += nr) {
                        int off = column[j];
                        if (vector && width == nr) {
                            FloatVector.fromArray(S, planes, off, rowOffset, rows).intoArray(dst, at);
                            FloatVector.fromArray(S, planes, off, rowOffset, rows + step).intoArray(dst, at + step);
                        } else {
                            for (int i = 0; i < width; i++) dst[at + i] = planes[off + rowOffset[rows + i]];
                        }
                    }
                }
            }
        }

        private static void check(Sgemm.PackedB b, int k, int n) {
            if (b.k != k || b.n != n)
                throw new IllegalArgumentException("packed B is " + b.k + "x" + b.n + ", the tile " + k + "x" + n);
        }

        /**
         * col2im of one image (the planes of image 0): sets channels [c0, c1) of the planes to
         * {@code values[at + ci]} (or zero when null), adds rows [r0, r1) of a column matrix (from float
         * {@code srcAt} of {@code src}, {@code ld} floats per row) onto the positions their taps read, in row order
         * and pixel order within a row, and stores the channels' interiors into the group whose channel 0 is at
         * float {@code dxAt} of {@code dx}. Rows must belong to channels [c0, c1). The border collects the padding
         * taps' terms and is dropped.
         */
        void scatter(MemorySegment src, long srcAt, int ld, int r0, int r1, int c0, int c1, float[] values, int at,
                     MemorySegment dx, long dxAt) {
            int size = hp * wp, plane = g.plane;
            for (int ci = c0; ci < c1; ci++)
                java.util.Arrays.fill(planes, ci * size, (ci + 1) * size, values == null ? 0f : values[at + ci]);
            for (int r = r0; r < r1; r++) {
                int off = rowOffset[r];
                long s = srcAt + (long) (r - r0) * ld;
                for (int j = 0; j < plane; j++) planes[off + rel[j]] += src.getAtIndex(F, s + j);
            }
            for (int ci = c0; ci < c1; ci++)
                for (int iy = 0; iy < g.h; iy++)
                    MemorySegment.copy(planes, (ci * hp + g.pt + iy) * wp + g.pl, dx, F,
                            (dxAt + ((long) ci * g.h + iy) * g.w) * 4, g.w);
        }
    }
}
