package dev.stride.engine.cpu;

import dev.stride.graph.Shape;

/**
 * One convolution's geometry, x[N, C, H, W] * w[O, C/groups, kH, kW] -> y[N, O, Ho, Wo], as the GEMM kernels see
 * it: per image and group, y_g[O/groups, Ho*Wo] = W_g[O/groups, K] x col[K, Ho*Wo] with K = C/groups*kH*kW, row
 * r = (channel in group, ky, kx) of col holding, for every output pixel, the input value that tap reads (zero in
 * the padding). The data gradient and the transposed convolution are the adjoint of the same geometry.
 *
 * <p>Only the start padding appears here: the end padding has already decided Ho and Wo. For each kernel row
 * (column) the output rows (columns) whose tap lands inside the input are precomputed, so the im2col and col2im
 * loops test nothing per element.
 */
final class ConvGeometry {
    final int n, c, h, w, o, ho, wo, kh, kw, sh, sw, pt, pl, dh, dw, groups;
    /** Channels per group: in (cg) and out (og). */
    final int cg, og;
    /** Rows of the column matrix, cg*kh*kw: the forward GEMM's depth. */
    final int k;
    /** Output pixels per image and channel, ho*wo: the columns of the column matrix. */
    final int plane;
    /** For kernel row ky, the output rows oy in [oyLo[ky], oyHi[ky]) read an input row inside [0, H). */
    final int[] oyLo, oyHi;
    /** For kernel column kx, the output columns ox in [oxLo[kx], oxHi[kx]) read inside [0, W). */
    final int[] oxLo, oxHi;
    /** When {@link #shifted()}: per column-matrix row, see {@link #rowOffset}, {@link #validFrom}, {@link #validTo}. */
    private final long[] rowOffset;
    private final int[] validFrom, validTo;

    ConvGeometry(Shape x, Shape weight, Shape y, int sh, int sw, int pt, int pl, int dh, int dw, int groups) {
        n = x.dim(0); c = x.dim(1); h = x.dim(2); w = x.dim(3);
        o = weight.dim(0); kh = weight.dim(2); kw = weight.dim(3);
        ho = y.dim(2); wo = y.dim(3);
        this.sh = sh; this.sw = sw; this.pt = pt; this.pl = pl; this.dh = dh; this.dw = dw;
        this.groups = groups;
        cg = c / groups;
        og = o / groups;
        k = cg * kh * kw;
        plane = ho * wo;
        oyLo = new int[kh]; oyHi = new int[kh];
        for (int t = 0; t < kh; t++) range(t * dh - pt, sh, h, ho, oyLo, oyHi, t);
        oxLo = new int[kw]; oxHi = new int[kw];
        for (int t = 0; t < kw; t++) range(t * dw - pl, sw, w, wo, oxLo, oxHi, t);
        boolean shifted = shifted();
        rowOffset = new long[shifted ? k : 0];
        validFrom = new int[shifted ? k : 0];
        validTo = new int[shifted ? k : 0];
        for (int r = 0; shifted && r < k; r++) {
            int ci = r / (kh * kw), ky = r / kw % kh, kx = r % kw;
            int shift = (ky * dh - pt) * w + kx * dw - pl;
            rowOffset[r] = (long) ci * h * w + shift;
            validFrom[r] = Math.max(oyLo[ky] * wo, -shift);
            validTo[r] = Math.min(oyHi[ky] * wo, h * w - shift);
        }
    }

    /**
     * Stride 1 and an output as wide as the input (the "same" layers of VGG and ResNet): output pixel j of
     * column-matrix row r = (ci, ky, kx) reads input element {@link #rowOffset}(r) + j of the group, so each row
     * is one shifted copy of an input plane, valid (inside the input rows) for j in [validFrom(r), validTo(r))
     * except the columns ox outside [oxLo[kx], oxHi[kx]) of each output row, which the shift wrapped around to
     * the neighbouring input row.
     */
    boolean shifted() { return sh == 1 && sw == 1 && wo == w; }

    /** See {@link #shifted()}: float offset of row r's source from the group's channel 0, as if j = 0. */
    long rowOffset(int r) { return rowOffset[r]; }

    /** See {@link #shifted()}: the first output pixel of row r whose input row is inside (and in the plane). */
    int validFrom(int r) { return validFrom[r]; }

    /** See {@link #shifted()}: one past the last such pixel (may be below validFrom: none). */
    int validTo(int r) { return validTo[r]; }

    /** The outputs i in [0, outN) with 0 <= i*s + off < inN, as [lo[t], hi[t]); empty as lo == hi. */
    private static void range(int off, int s, int inN, int outN, int[] lo, int[] hi, int t) {
        int a = Math.max(0, Math.ceilDiv(-off, s));
        int b = Math.min(outN, Math.floorDiv(inN - 1 - off, s) + 1);
        lo[t] = Math.min(a, outN);
        hi[t] = Math.max(lo[t], b);
    }

    /**
     * A 1x1 kernel, stride 1, no start padding, and the output the input's size: col is the input itself
     * (row ci of image n, group g is channel g*cg + ci), so no im2col copy is needed.
     */
    boolean pointwise() {
        return kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && ho == h && wo == w;
    }

    /**
     * One output pixel per image whose taps read every input position once, in order: a kernel as large as the
     * input, no start padding, no dilation (DCGAN's 7x7 discriminator head on a 7x7 map; its adjoint, the
     * generator's first ConvTranspose2d from a 1x1 input). The column matrix of image i is then x[i] itself, so
     * the convolution over the batch is a dense layer: y[N, O] = x[N, C*H*W] W^T per group, no im2col at all.
     */
    boolean dense() {
        return ho == 1 && wo == 1 && pt == 0 && pl == 0 && kh == h && kw == w && (kh == 1 || dh == 1)
                && (kw == 1 || dw == 1);
    }

    /** Floats of one image of x: the leading dimension of x as an N x C*H*W matrix. */
    long imageSize() { return (long) c * h * w; }

    /** Float offset of channel 0 of group {@code g} of image {@code i} in x. */
    long xAt(int i, int g) { return ((long) i * c + (long) g * cg) * h * w; }

    /** Float offset of output channel 0 of group {@code g} of image {@code i} in y. */
    long yAt(int i, int g) { return ((long) i * o + (long) g * og) * plane; }

    /** Float offset of the weight rows of group {@code g}: w[g*og .. (g+1)*og - 1] as an og x k matrix. */
    long wAt(int g) { return (long) g * og * k; }

    /** 2 * multiply-adds of one image, all groups: the GEMM work of the forward pass (and of each adjoint). */
    long flopsPerImage() { return 2L * o * k * plane; }

    @Override public String toString() {
        return "x[" + n + "," + c + "," + h + "," + w + "] * w[" + o + "," + cg + "," + kh + "," + kw + "] -> ["
                + n + "," + o + "," + ho + "," + wo + "], stride " + sh + "x" + sw + ", pad " + pt + "," + pl
                + ", dilation " + dh + "x" + dw + ", groups " + groups;
    }
}
