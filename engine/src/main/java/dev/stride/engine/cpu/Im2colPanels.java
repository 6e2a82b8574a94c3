package dev.stride.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * im2col of a {@link ConvGeometry#shifted() shifted} convolution (stride 1, output as wide as the input: the
 * "same" layers of VGG and ResNet) written straight into a GEMM's packed-B operand ({@link Sgemm#emptyB}): the
 * GEMM then skips its own packing pass over the tile.
 *
 * <p>The layout is K blocks of NR-wide panels, each panel kcb rows of NR floats. It is written panel by panel,
 * row by row within a panel, so that the writes are sequential; the reads jump between input rows, which stay in
 * cache. Written row by row instead (each row scattered over all panels, 64 bytes to a page apart), the same
 * copy took 2.5 times as long; a row-major tile plus the GEMM's packing took 3 times as long (measured on
 * ResNet-18's 64-channel 56x56 layer).
 */
final class Im2colPanels {
    private Im2colPanels() {}

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final VectorSpecies<Float> S = VectorConfig.SPECIES;

    /**
     * Every row of the column matrix, columns [j0, j1), of the group whose channel 0 starts at float {@code xAt}
     * of {@code x}, into {@code b}: K = g.k rows, j1 - j0 columns, in K blocks of {@code blockRows}
     * ({@code Sgemm.kcFor(K)} of the GEMM that will read it). Panel columns past j1 - j0 are left as they are
     * (zero from {@link Sgemm#emptyB}).
     */
    static void fill(ConvGeometry g, MemorySegment x, long xAt, int j0, int j1, Sgemm.PackedB b, int blockRows,
                     boolean simd) {
        if (!g.shifted()) throw new IllegalArgumentException("not a shifted convolution: " + g);
        int nr = b.nr, nt = j1 - j0, paddedN = Sgemm.roundUp(nt, nr), wo = g.wo, kw = g.kw, step = S.length();
        if (b.k != g.k || b.n != nt) throw new IllegalArgumentException("packed B is " + b.k + "x" + b.n + ", tile " + g.k + "x" + nt);
        boolean vector = simd && nr % step == 0;
        float[] dst = b.data;
        for (int pc = 0; pc < g.k; pc += blockRows) {
            int kcb = Math.min(blockRows, g.k - pc);
            for (int c0 = 0; c0 < nt; c0 += nr) {
                int jq0 = j0 + c0, jq1 = Math.min(j1, jq0 + nr), width = jq1 - jq0, ox0 = jq0 % wo;
                int at = pc * paddedN + c0 * kcb;          // panel c0 / nr of the K block at row pc
                for (int r = pc, kx = pc % kw; r < pc + kcb; r++, at += nr, kx = kx + 1 == kw ? 0 : kx + 1) {
                    int a = g.validFrom(r), e = g.validTo(r);
                    long src = xAt + g.rowOffset(r);
                    if (vector && width == nr && jq0 >= a && jq1 <= e) {
                        for (int i = 0; i < nr; i += step)
                            FloatVector.fromMemorySegment(S, x, (src + jq0 + i) * 4, NATIVE).intoArray(dst, at + i);
                    } else {
                        for (int i = 0; i < width; i++) {
                            int j = jq0 + i;
                            dst[at + i] = j >= a && j < e ? x.getAtIndex(F, src + j) : 0f;
                        }
                    }
                    int xLo = g.oxLo[kx], xHi = Math.max(xLo, g.oxHi[kx]);
                    if (xLo == 0 && xHi == wo) continue;
                    // columns [0, xLo) and [xHi, wo) of each output row the panel touches
                    for (int rs = jq0 - ox0; rs < jq1; rs += wo) {
                        for (int j = Math.max(jq0, rs), end = Math.min(jq1, rs + xLo); j < end; j++) dst[at + j - jq0] = 0f;
                        for (int j = Math.max(jq0, rs + xHi), end = Math.min(jq1, rs + wo); j < end; j++) dst[at + j - jq0] = 0f;
                    }
                }
            }
        }
    }
}
