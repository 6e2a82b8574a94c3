package dev.stride.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * The window geometry of a strided 2-D pool, and a re-layout of one input plane under which every window tap reads
 * consecutive floats for consecutive output columns, at any stride and dilation.
 *
 * <p>Input row i becomes {@code strideW} <em>phase rows</em> of {@link #rowLength()} floats: phase r holds padded
 * columns r, r + s, r + 2s, ... (padded column t is input column t - padLeft; cells outside the input hold a fill
 * value: -inf for max pooling, where padding never wins, 0 for sums). Tap j of output column ow is padded column
 * {@code ow*s + j*d = s*(ow + q) + r} with {@code q = (j*d) / s}, {@code r = (j*d) % s}: element {@code ow + q} of
 * phase r, so a vector of outputs loads one vector per tap. Phase rows are long enough for every tap of every
 * output column, ceil-mode overhang included, so no kernel needs a border case along W.
 *
 * <p>Rows are not padded: {@link #rows(int)} lists each output row's taps that fall inside the input, in order.
 */
final class PhaseSplitPlane {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final VectorSpecies<Float> S = PoolKernels.S;   // a constant: see PoolKernels.S
    /** Lanes 0, 2, 4, ... of two vectors taken as one (indices past the first vector select from the second). */
    private static final VectorShuffle<Float> EVEN_LANES = VectorShuffle.fromOp(S, i -> 2 * i);
    private static final VectorShuffle<Float> ODD_LANES = VectorShuffle.fromOp(S, i -> 2 * i + 1);

    final int inH, inW, outH, outW, strideW, padLeft;
    private final int rowLength;      // floats per phase row
    private final int[] tapOffset;    // per tap j along W: r * rowLength + q, within the row's block of phases
    private final int[][] rows;       // per output row: valid input rows, increasing
    private final int[] firstColumn;  // per output column: its first tap inside the input

    PhaseSplitPlane(int inH, int inW, int outH, int outW, int kH, int kW, int strideH, int strideW,
                    int padTop, int padLeft, int dilationH, int dilationW) {
        this.inH = inH;
        this.inW = inW;
        this.outH = outH;
        this.outW = outW;
        this.strideW = strideW;
        this.padLeft = padLeft;
        this.rowLength = outW + (kW - 1) * dilationW / strideW;
        this.tapOffset = new int[kW];
        for (int j = 0; j < kW; j++) tapOffset[j] = (j * dilationW) % strideW * rowLength + j * dilationW / strideW;
        this.rows = taps(outH, inH, kH, strideH, padTop, dilationH);
        int[][] cols = taps(outW, inW, kW, strideW, padLeft, dilationW);
        this.firstColumn = Arrays.stream(cols).mapToInt(c -> c[0]).toArray();
    }

    /**
     * For each of {@code out} windows along one axis, its tap positions {@code o*s - pad + j*d}, {@code j < k},
     * that fall inside {@code [0, in)}, increasing. The op's shape rule guarantees at least one per window.
     */
    static int[][] taps(int out, int in, int k, int s, int pad, int d) {
        int[][] t = new int[out][];
        for (int o = 0; o < out; o++) {
            int start = o * s - pad;
            t[o] = IntStream.range(0, k).map(j -> start + j * d).filter(i -> i >= 0 && i < in).toArray();
        }
        return t;
    }

    /** Floats in one phase row; at least {@link #outW()} + the largest tap offset. */
    int rowLength() { return rowLength; }

    /** Floats of the whole split plane: {@code inH * strideW * rowLength}. */
    int size() { return inH * strideW * rowLength; }

    int outW() { return outW; }

    /** Where the phase rows of input row {@code i} start. */
    int rowBase(int i) { return i * strideW * rowLength; }

    /** Offset of tap {@code j} (along W) from the start of a row's phases, for output column 0. */
    int[] tapOffsets() { return tapOffset; }

    /** The valid input rows of output row {@code oh}, increasing. */
    int[] rows(int oh) { return rows[oh]; }

    /** The first tap of output column {@code ow} that lies inside the input (its column index). */
    int[] firstColumns() { return firstColumn; }

    /** Input column of element {@code u} of phase {@code r} (may be outside [0, inW)). */
    private int column(int u, int r) { return u * strideW + r - padLeft; }

    /** First and one-past-last element of phase {@code r} whose column is inside the input. */
    private int firstInside(int r) { return Math.max(0, Math.ceilDiv(padLeft - r, strideW)); }

    private int endInside(int r) { return Math.min(rowLength, Math.max(0, Math.ceilDiv(inW + padLeft - r, strideW))); }

    /**
     * Writes the split form of the plane at float index {@code at} of {@code x} into {@code dst}. With stride 2 and
     * {@code simd}, both phases of a stretch of 2 * lanes input columns come from two vector loads and two
     * shuffles (even lanes, odd lanes); other strides and the edges are copied element by element.
     */
    void load(MemorySegment x, long at, float[] dst, float fill, boolean simd) {
        int lanes = S.length();
        // Stride 2: phase r element u reads column 2u + r - padLeft; the stretch [v0, v1) has every column of
        // both phases inside the input for whole vectors (columns 2u - padLeft .. 2(u + lanes) - padLeft - 1).
        int v0 = 0, v1 = 0;
        if (simd && strideW == 2) {
            v0 = Math.ceilDiv(padLeft, 2);
            v1 = v0 + Math.max(0, Math.min(rowLength - v0, (inW + padLeft - 2 * v0) / 2) / lanes * lanes);
        }
        for (int i = 0; i < inH; i++) {
            long src = at + (long) i * inW;
            for (int r = 0; r < strideW; r++) {
                int base = rowBase(i) + r * rowLength, u0 = firstInside(r), u1 = endInside(r);
                Arrays.fill(dst, base, base + Math.min(u0, rowLength), fill);
                if (strideW == 1) {
                    if (u1 > u0) MemorySegment.copy(x, F, (src + column(u0, r)) * Float.BYTES, dst, base + u0, u1 - u0);
                } else {
                    // Element by element outside the vector stretch [v0, v1) (empty unless stride 2 and SIMD).
                    long c = src + column(u0, r);
                    for (int u = u0; u < Math.min(u1, v0); u++, c += strideW) dst[base + u] = x.getAtIndex(F, c);
                    c = src + column(Math.max(u0, v1), r);
                    for (int u = Math.max(u0, v1); u < u1; u++, c += strideW) dst[base + u] = x.getAtIndex(F, c);
                }
                Arrays.fill(dst, base + Math.min(rowLength, Math.max(u0, u1)), base + rowLength, fill);
            }
            int even = rowBase(i), odd = even + rowLength;
            for (int u = v0; u < v1; u += lanes) {
                long b = (src + 2L * u - padLeft) * Float.BYTES;
                FloatVector lo = FloatVector.fromMemorySegment(S, x, b, NATIVE);
                FloatVector hi = FloatVector.fromMemorySegment(S, x, b + (long) lanes * Float.BYTES, NATIVE);
                lo.rearrange(EVEN_LANES, hi).intoArray(dst, even + u);
                lo.rearrange(ODD_LANES, hi).intoArray(dst, odd + u);
            }
        }
    }

    /**
     * The adjoint of {@link #load} for sums: writes to the plane at float index {@code at} of {@code dx} the split
     * accumulator's cells that lie inside the input (padding cells are dropped) and zeros to the input columns no
     * window reaches (those past the last window in floor mode have no cell in the split layout).
     */
    void store(float[] src, MemorySegment dx, long at) {
        int reached = Math.max(0, Math.min(inW, rowLength * strideW - padLeft));   // columns [0, reached) have cells
        for (int i = 0; i < inH; i++) {
            long dst = at + (long) i * inW;
            for (int c = reached; c < inW; c++) dx.setAtIndex(F, dst + c, 0f);
            for (int r = 0; r < strideW; r++) {
                int base = rowBase(i) + r * rowLength, u0 = firstInside(r), u1 = endInside(r);
                if (u1 <= u0) continue;
                if (strideW == 1) {
                    MemorySegment.copy(src, base + u0, dx, F, (dst + column(u0, r)) * Float.BYTES, u1 - u0);
                } else {
                    long c = dst + column(u0, r);
                    for (int u = u0; u < u1; u++, c += strideW) dx.setAtIndex(F, c, src[base + u]);
                }
            }
        }
    }
}
