package dev.stride.engine.cpu;

import dev.stride.graph.Shape;
import dev.stride.graph.op.LpPool2d;
import dev.stride.graph.op.LpPool2dBackward;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static dev.stride.engine.cpu.OnnxOpKernels.F;
import static dev.stride.engine.cpu.OnnxOpKernels.L;
import static dev.stride.engine.cpu.OnnxOpKernels.S;
import static dev.stride.engine.cpu.OnnxOpKernels.cost;
import static dev.stride.engine.cpu.OnnxOpKernels.NATIVE;

/**
 * Lp pooling, forward and backward, plane by plane ((n, c) planes split over the workers).
 *
 * <p>Each plane's |x|^p is computed once per input cell (by {@link OnnxVectorMath#pow} unless p is 1 or 2) (not once per window tap) into a zero-padded, phase-split
 * scratch plane: padded row r holds {@code strideW} phase rows, phase q holding the padded columns q, q + sW,
 * q + 2 sW, ... Window tap (kh, kw) of output columns ow = 0, 1, ... then reads one contiguous run of a phase row,
 * whatever the stride, dilation and padding, so the window sums are vector adds over a whole output row; padding
 * and the cells past the input (ceil mode) are zeros that are never written. Taps are summed in the reference's
 * order (rows, then columns), so only float rounding separates the sums.
 *
 * <p>The gradient factors the reference's per-tap term: dx = sign(x)|x|^(p-1) * (sum over the windows holding x of
 * dy/y^(p-1), 0 where y = 0). The window terms are scattered into the same kind of plane by vector adds, in output
 * order, and multiplied by sign(x)|x|^(p-1) once per cell.
 */
final class OnnxLpPool {
    static void register(CpuKernelRegistry r, boolean simd) {
        r.register(LpPool2d.class, (op, node) -> new OnnxLpPool(op, node.inShape(0), node.outShape(0), simd).forward(node));
        r.register(LpPool2dBackward.class,
                (op, node) -> new OnnxLpPool(op.forward(), node.outShape(0), node.inShape(1), simd).backward(node));
    }

    private final boolean simd;
    private final double p;
    private final int h, w, outH, outW, kH, kW, sH, sW, dH, dW;
    private final int wq;           // length of a phase row
    private final int planeSize;    // floats of the padded, phase-split plane
    private final int[] rowAt;      // per input row: start of its padded row in the plane, or -1 if no window reads it
    private final int[] colAt;      // per input column: offset within a padded row, or -1 if no window reads it
    private final int[] tapAt;      // per (kh, kw), row-major: offset of its run, relative to output row 0
    private final int rowStep;      // plane offset between consecutive output rows' runs: sH padded rows

    private OnnxLpPool(LpPool2d op, Shape x, Shape y, boolean simd) {
        this.simd = simd;
        p = op.p();
        h = x.dim(2);
        w = x.dim(3);
        outH = y.dim(2);
        outW = y.dim(3);
        kH = op.kH();
        kW = op.kW();
        sH = op.strideH();
        sW = op.strideW();
        dH = op.dilationH();
        dW = op.dilationW();
        int hp = (outH - 1) * sH + (kH - 1) * dH + 1;        // padded rows any window reads
        wq = outW + (kW - 1) * dW / sW;
        int padRow = sW * wq;
        planeSize = Math.multiplyExact(hp, padRow);
        rowAt = new int[h];
        for (int i = 0; i < h; i++) rowAt[i] = i + op.padTop() < hp ? (i + op.padTop()) * padRow : -1;
        colAt = new int[w];
        for (int j = 0; j < w; j++) {
            int c = j + op.padLeft();
            colAt[j] = c / sW < wq ? c % sW * wq + c / sW : -1;
        }
        tapAt = new int[kH * kW];
        for (int a = 0; a < kH; a++)
            for (int b = 0; b < kW; b++) tapAt[a * kW + b] = a * dH * padRow + (b * dW % sW) * wq + b * dW / sW;
        rowStep = sH * padRow;
    }

    private int planes(Shape x) { return Math.multiplyExact(x.dim(0), x.dim(1)); }

    /**
     * Writes |x|^p of input plane {@code at} into the plane's cells (its padding stays zero): exact products for
     * p = 1 and 2, {@link OnnxVectorMath#pow} on the row otherwise.
     */
    private void fill(MemorySegment x, long at, float[] plane, float[] row) {
        for (int i = 0; i < h; i++) {
            if (rowAt[i] < 0) continue;
            long src = at + (long) i * w;
            int j = 0;
            if (simd) {
                for (; j <= w - L; j += L) {
                    FloatVector v = FloatVector.fromMemorySegment(S, x, (src + j) * 4L, NATIVE);
                    (p == 2 ? v.mul(v) : v.abs()).intoArray(row, j);
                }
            }
            for (; j < w; j++) {
                float v = x.getAtIndex(F, src + j);
                row[j] = p == 2 ? v * v : Math.abs(v);
            }
            if (p != 1 && p != 2) OnnxVectorMath.pow(row, 0, w, p, simd);
            int base = rowAt[i];
            for (j = 0; j < w; j++) if (colAt[j] >= 0) plane[base + colAt[j]] = row[j];
        }
    }

    private CpuKernel forward(CpuNode node) {
        Shape xs = node.inShape(0);
        MemorySegment x = node.in(0), y = node.out(0);
        CpuRuntime rt = node.runtime();
        int threads = rt.threads();
        float[][] planes = new float[threads][planeSize], rows = new float[threads][Math.max(w, outW)];
        double inverse = 1 / p;
        int inPlane = h * w, outPlane = outH * outW, taps = kH * kW;
        CpuRuntime.RangeTask task = (wk, from, to) -> {
            float[] plane = planes[wk], acc = rows[wk];
            for (int pl = from; pl < to; pl++) {
                fill(x, (long) pl * inPlane, plane, acc);
                for (int oh = 0; oh < outH; oh++) {
                    Arrays.fill(acc, 0, outW, 0f);
                    for (int t = 0; t < taps; t++) {
                        int run = oh * rowStep + tapAt[t], j = 0;
                        if (simd) {
                            for (; j <= outW - L; j += L)
                                FloatVector.fromArray(S, acc, j).add(FloatVector.fromArray(S, plane, run + j)).intoArray(acc, j);
                        }
                        for (; j < outW; j++) acc[j] += plane[run + j];
                    }
                    long dst = (long) pl * outPlane + (long) oh * outW;
                    if (p != 1 && p != 2) OnnxVectorMath.pow(acc, 0, outW, inverse, simd);
                    int j = 0;
                    if (simd) {
                        for (; j <= outW - L; j += L) {
                            FloatVector s = FloatVector.fromArray(S, acc, j);
                            (p == 2 ? s.sqrt() : s).intoMemorySegment(y, (dst + j) * 4L, NATIVE);
                        }
                    }
                    for (; j < outW; j++) y.setAtIndex(F, dst + j, p == 2 ? (float) Math.sqrt(acc[j]) : acc[j]);
                }
            }
        };
        long work = cost(xs.size() * (p == 1 || p == 2 ? 2 : 20) + (long) planes(xs) * outPlane * (taps + 1));
        int count = planes(xs);
        return ctx -> rt.parallelFor(count, work, task);
    }

    private CpuKernel backward(CpuNode node) {
        Shape xs = node.outShape(0);
        MemorySegment x = node.in(0), y = node.in(1), dy = node.in(2), dx = node.out(0);
        CpuRuntime rt = node.runtime();
        int threads = rt.threads();
        float[][] planes = new float[threads][planeSize], rows = new float[threads][Math.max(w, outW)];
        float[][] powers = new float[threads][w];
        int inPlane = h * w, outPlane = outH * outW, taps = kH * kW;
        CpuRuntime.RangeTask task = (wk, from, to) -> {
            float[] plane = planes[wk], g = rows[wk], pw = powers[wk];
            for (int pl = from; pl < to; pl++) {
                Arrays.fill(plane, 0f);
                for (int oh = 0; oh < outH; oh++) {
                    long src = (long) pl * outPlane + (long) oh * outW;
                    windowTerms(y, dy, src, g);
                    for (int t = 0; t < taps; t++) {
                        int run = oh * rowStep + tapAt[t], j = 0;
                        if (simd) {
                            for (; j <= outW - L; j += L)
                                FloatVector.fromArray(S, plane, run + j).add(FloatVector.fromArray(S, g, j)).intoArray(plane, run + j);
                        }
                        for (; j < outW; j++) plane[run + j] += g[j];
                    }
                }
                long at = (long) pl * inPlane;
                for (int i = 0; i < h; i++) {
                    long row = at + (long) i * w;
                    int base = rowAt[i];
                    for (int j = 0; j < w; j++) g[j] = base >= 0 && colAt[j] >= 0 ? plane[base + colAt[j]] : 0f;
                    signedPowers(x, row, pw);
                    int j = 0;
                    if (simd) for (; j <= w - L; j += L) (FloatVector.fromArray(S, pw, j).mul(FloatVector.fromArray(S, g, j))).intoMemorySegment(dx, (row + j) * 4L, NATIVE);
                    for (; j < w; j++) dx.setAtIndex(F, row + j, pw[j] * g[j]);
                }
            }
        };
        long work = cost(xs.size() * (p == 1 || p == 2 ? 4 : 24) + (long) planes(xs) * outPlane * (taps + 20));
        int count = planes(xs);
        return ctx -> rt.parallelFor(count, work, task);
    }

    /** g[ow] = dy / y^(p-1) along one output row, 0 where y = 0 (the reference sends no gradient there). */
    private void windowTerms(MemorySegment y, MemorySegment dy, long src, float[] g) {
        if (p != 1 && p != 2) {                                   // g = y^(1-p) first
            for (int j = 0; j < outW; j++) g[j] = y.getAtIndex(F, src + j);
            OnnxVectorMath.pow(g, 0, outW, 1 - p, simd);
        }
        int j = 0;
        if (simd) {
            FloatVector zero = FloatVector.zero(S);
            for (; j <= outW - L; j += L) {
                FloatVector yv = FloatVector.fromMemorySegment(S, y, (src + j) * 4L, NATIVE), gv = FloatVector.fromMemorySegment(S, dy, (src + j) * 4L, NATIVE);
                FloatVector t = p == 1 ? gv : p == 2 ? gv.div(yv) : gv.mul(FloatVector.fromArray(S, g, j));
                t.blend(zero, yv.compare(VectorOperators.EQ, 0f)).intoArray(g, j);
            }
        }
        for (; j < outW; j++) {
            float yv = y.getAtIndex(F, src + j), gv = dy.getAtIndex(F, src + j);
            g[j] = yv == 0 ? 0f : p == 1 ? gv : p == 2 ? gv / yv : gv * g[j];
        }
    }

    /** pw[j] = sign(x)|x|^(p-1) along input row {@code at}: sign(x) for p = 1 (0 at 0, NaN for NaN), x for p = 2. */
    private void signedPowers(MemorySegment x, long at, float[] pw) {
        if (p == 2) {
            MemorySegment.copy(x, F, at * Float.BYTES, pw, 0, w);
            return;
        }
        if (p != 1) {
            for (int j = 0; j < w; j++) pw[j] = Math.abs(x.getAtIndex(F, at + j));
            OnnxVectorMath.pow(pw, 0, w, p - 1, simd);
        }
        int j = 0;
        if (simd) {
            FloatVector one = FloatVector.broadcast(S, 1f), zero = FloatVector.zero(S);
            for (; j <= w - L; j += L) {
                FloatVector v = FloatVector.fromMemorySegment(S, x, (at + j) * 4L, NATIVE);
                FloatVector sign = one.blend(one.neg(), v.compare(VectorOperators.LT, 0f))
                        .blend(zero, v.compare(VectorOperators.EQ, 0f)).blend(v, v.test(VectorOperators.IS_NAN));
                (p == 1 ? sign : sign.mul(FloatVector.fromArray(S, pw, j))).intoArray(pw, j);
            }
        }
        for (; j < w; j++) {
            float sign = Math.signum(x.getAtIndex(F, at + j));
            pw[j] = p == 1 ? sign : sign * pw[j];
        }
    }
}
