package dev.stride.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * im2col of a {@link ConvGeometry#shifted() shifted} convolution (stride 1, output as wide as the input: the
 * "same" layers of VGG and ResNet) written straight into a GEMM's packed-B operand ({@link Sgemm#emptyB}), so
 * that the GEMM skips its own packing pass over the tile.
 *
 * <p>The layout is K blocks of NR-wide panels, each panel kcb rows of NR floats. It is written panel by panel,
 * row by row within a panel, so that the writes are sequential; the reads jump between input rows, which stay in
 * cache. Row r of the column matrix is the input plane shifted by a constant, so a panel row is NR consecutive
 * input floats, then the lanes that fall on padding columns are zeroed (a precomputed bit set per panel start
 * column and kernel column). The per-row work is two vector copies and a table look-up: with a bounds test and a
 * fix-up loop per row instead, the copy took five times as long. Written row by row (each row scattered over all
 * panels, 64 bytes to a page apart) it took 2.5 times as long, and a row-major tile plus the GEMM's own packing
 * three times (measured on ResNet-18's 64-channel 56x56 layer).
 */
final class Im2colPanels {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final VectorSpecies<Float> S = VectorConfig.SPECIES;

    private final ConvGeometry g;
    private final int nr, blockRows;
    private final boolean vector;
    private final long[] rowOffset;          // per row: input float offset of pixel j = 0, from the group's channel 0
    private final int[] validFrom, validTo;  // per row: pixels whose input row is inside
    private final int[] kxOf;                // per row: its kernel column
    private final int allValidFrom, allValidTo;
    private final long[] padLanes;           // [ox0 * kw + kx]: lanes of a panel starting at output column ox0 on padding

    /** For tiles of {@code g} into panels {@code nr} wide, K blocks of {@code blockRows} rows. */
    Im2colPanels(ConvGeometry g, int nr, int blockRows, boolean simd) {
        if (!g.shifted()) throw new IllegalArgumentException("not a shifted convolution: " + g);
        if (nr > 64) throw new IllegalArgumentException("panels wider than 64 floats: " + nr);
        this.g = g;
        this.nr = nr;
        this.blockRows = blockRows;
        this.vector = simd && nr == 2 * S.length();
        rowOffset = new long[g.k];
        validFrom = new int[g.k];
        validTo = new int[g.k];
        kxOf = new int[g.k];
        int from = 0, to = Integer.MAX_VALUE;
        for (int r = 0; r < g.k; r++) {
            rowOffset[r] = g.rowOffset(r);
            validFrom[r] = g.validFrom(r);
            validTo[r] = g.validTo(r);
            kxOf[r] = r % g.kw;
            from = Math.max(from, validFrom[r]);
            to = Math.min(to, validTo[r]);
        }
        allValidFrom = from;
        allValidTo = to;
        padLanes = new long[g.wo * g.kw];
        for (int ox0 = 0; ox0 < g.wo; ox0++)
            for (int kx = 0; kx < g.kw; kx++) {
                long bits = 0;
                for (int i = 0; i < nr; i++) {
                    int ox = (ox0 + i) % g.wo;
                    if (ox < g.oxLo[kx] || ox >= g.oxHi[kx]) bits |= 1L << i;
                }
                padLanes[ox0 * g.kw + kx] = bits;
            }
    }

    /**
     * Every row of the column matrix, columns [j0, j1), of the group whose channel 0 starts at float {@code xAt}
     * of {@code x}, into {@code b}: K = g.k rows, j1 - j0 columns, in K blocks of {@code blockRows} (the
     * {@code Sgemm.kcFor(K)} of the GEMM that reads it). Panel lanes past j1 - j0 are left as they are (zero from
     * {@link Sgemm#emptyB}).
     */
    void fill(MemorySegment x, long xAt, int j0, int j1, Sgemm.PackedB b) {
        int nt = j1 - j0, paddedN = Sgemm.roundUp(nt, nr), wo = g.wo, kw = g.kw, step = S.length();
        if (b.k != g.k || b.n != nt || b.nr != nr)
            throw new IllegalArgumentException("packed B is " + b.k + "x" + b.n + " in panels of " + b.nr + ", tile "
                    + g.k + "x" + nt + " in panels of " + nr);
        float[] dst = b.data;
        for (int pc = 0; pc < g.k; pc += blockRows) {
            int end = Math.min(g.k, pc + blockRows), kcb = end - pc;
            for (int c0 = 0; c0 < nt; c0 += nr) {
                int jq0 = j0 + c0, width = Math.min(nr, nt - c0), lanes = (jq0 % wo) * kw;
                int at = pc * paddedN + c0 * kcb;          // panel c0 / nr of the K block at row pc
                if (vector && width == nr && jq0 >= allValidFrom && jq0 + nr <= allValidTo) {
                    // Exactly two vectors per panel row (NR is twice the vector length for every SIMD kernel):
                    // a loop over NR / step vectors ran at a fifth of the speed.
                    for (int r = pc, a = at; r < end; r++, a += nr) {
                        long src = (xAt + rowOffset[r] + jq0) * 4;
                        FloatVector.fromMemorySegment(S, x, src, NATIVE).intoArray(dst, a);
                        FloatVector.fromMemorySegment(S, x, src + 4L * step, NATIVE).intoArray(dst, a + step);
                    }
                    // Then the lanes on padding columns, for the kernel columns that have any in this panel
                    // (a look-up and a branch per row in the loop above cost half as much again as the copy).
                    for (int kx = 0; kx < kw; kx++) {
                        long bits = padLanes[lanes + kx];
                        if (bits == 0) continue;
                        for (int r = pc + Math.floorMod(kx - pc, kw); r < end; r += kw)
                            for (long m = bits; m != 0; m &= m - 1)
                                dst[at + (r - pc) * nr + Long.numberOfTrailingZeros(m)] = 0f;
                    }
                } else {
                    for (int r = pc; r < end; r++, at += nr)
                        edge(x, xAt + rowOffset[r], dst, at, jq0, width, validFrom[r], validTo[r],
                                padLanes[lanes + kxOf[r]]);
                }
            }
        }
    }

    /** One panel row element by element: pixels outside [from, to) or on a padding lane are zero. */
    private static void edge(MemorySegment x, long src, float[] dst, int at, int jq0, int width, int from, int to,
                             long pad) {
        for (int i = 0; i < width; i++) {
            int j = jq0 + i;
            dst[at + i] = j >= from && j < to && (pad & (1L << i)) == 0 ? x.getAtIndex(F, src + j) : 0f;
        }
    }
}
