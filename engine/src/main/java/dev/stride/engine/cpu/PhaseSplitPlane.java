package dev.stride.engine.cpu;

import dev.stride.engine.PoolWindows;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;

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
    private final int[] insideStart, insideEnd;   // per phase: its elements [start, end) lie inside the input
    private final int vectorStart, vectorEnd;     // stride 2: elements whose both phases come from whole vectors

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
        this.rows = PoolWindows.taps(outH, inH, kH, strideH, padTop, dilationH);
        int[][] cols = PoolWindows.taps(outW, inW, kW, strideW, padLeft, dilationW);
        this.firstColumn = Arrays.stream(cols).mapToInt(c -> c[0]).toArray();
        insideStart = new int[strideW];
        insideEnd = new int[strideW];
        for (int r = 0; r < strideW; r++) {
            // Element u of phase r reads column u*s + r - padLeft: inside when 0 <= that < inW.
            insideStart[r] = Math.min(rowLength, Math.max(0, Math.ceilDiv(padLeft - r, strideW)));
            insideEnd[r] = Math.max(insideStart[r], Math.min(rowLength, Math.ceilDiv(inW + padLeft - r, strideW)));
        }
        // Stride 2: elements [u, u + lanes) of both phases are columns 2u - padLeft .. 2(u + lanes) - padLeft - 1,
        // all inside the input for u in [vectorStart, vectorEnd - lanes]; fewer than lanes elements: no vectors.
        int v0 = Math.ceilDiv(padLeft, 2), v1 = Math.min(rowLength, (inW + padLeft) / 2);
        vectorStart = v0;
        vectorEnd = v1 - v0 >= S.length() ? v1 : v0;
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

    /**
     * A buffer for {@link #load} with every cell set to {@code fill}. The cells that lie in the padding are never
     * written again, so the buffer keeps its fill for as long as it is only loaded into.
     */
    float[] newBuffer(float fill) {
        float[] b = new float[size()];
        Arrays.fill(b, fill);
        return b;
    }

    /**
     * Writes the cells of the plane at float index {@code at} of {@code x} that lie inside the input into
     * {@code dst}, a buffer from {@link #newBuffer} (its padding cells keep their fill). With stride 2 and
     * {@code simd}, both phases of a stretch of 2 * lanes input columns come from two vector loads and two shuffles
     * (even lanes, odd lanes); stride 1 is a bulk copy per row; other strides and the edges go element by element.
     */
    void load(MemorySegment x, long at, float[] dst, boolean simd) {
        int lanes = S.length();
        boolean pairs = simd && strideW == 2 && vectorEnd > vectorStart;
        for (int i = 0; i < inH; i++) {
            long src = at + (long) i * inW;
            int row = rowBase(i);
            if (strideW == 1) {
                if (insideEnd[0] > insideStart[0])
                    MemorySegment.copy(x, F, (src + column(insideStart[0], 0)) * Float.BYTES, dst, row + insideStart[0],
                            insideEnd[0] - insideStart[0]);
                continue;
            }
            for (int r = 0; r < strideW; r++) {
                int base = row + r * rowLength, u0 = insideStart[r], u1 = insideEnd[r];
                int skip0 = pairs ? vectorStart : u1, skip1 = pairs ? vectorEnd : u1;   // [skip0, skip1): vectors
                long c = src + column(u0, r);
                for (int u = u0; u < Math.min(u1, skip0); u++, c += strideW) dst[base + u] = x.getAtIndex(F, c);
                c = src + column(Math.max(u0, skip1), r);
                for (int u = Math.max(u0, skip1); u < u1; u++, c += strideW) dst[base + u] = x.getAtIndex(F, c);
            }
            if (pairs) {
                int even = row, odd = row + rowLength;
                for (int v = vectorStart; v < vectorEnd; v += lanes) {
                    int u = Math.min(v, vectorEnd - lanes);   // the last vector overlaps: equal values rewritten
                    long b = (src + 2L * u - padLeft) * Float.BYTES;
                    FloatVector lo = FloatVector.fromMemorySegment(S, x, b, NATIVE);
                    FloatVector hi = FloatVector.fromMemorySegment(S, x, b + (long) lanes * Float.BYTES, NATIVE);
                    lo.rearrange(EVEN_LANES, hi).intoArray(dst, even + u);
                    lo.rearrange(ODD_LANES, hi).intoArray(dst, odd + u);
                }
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
                int base = rowBase(i) + r * rowLength, u0 = insideStart[r], u1 = insideEnd[r];
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
