package dev.stride.engine.cpu;

import dev.stride.graph.Shape;
import dev.stride.graph.op.Conv2d;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Conv2d forward through GEMM ({@link ConvGeometry}): for each image, group and tile of output pixels,
 * y_g[og, tile] = W_g[og, K] x col[K, tile], then the node's {@link Epilogue} (bias, folded batch norm,
 * activation) on each output row of the tile while it is in cache. W_g is packed once per weight change
 * ({@link PackedFilters}); col is per-worker scratch, written straight into the GEMM's packed-B layout for a
 * {@link ConvGeometry#shifted() shifted} convolution ({@link Im2colPanels}: the GEMM does not pack it again),
 * row-major otherwise ({@link Im2col}); for a pointwise convolution ({@link ConvGeometry#pointwise()}: the
 * "gemm1x1" algorithm) it is the input itself, packed by the GEMM (70 GFLOP/s for 256 -> 64 channels at 56x56
 * on one thread, against 60 with the input copied into panels first).
 *
 * <p>Small planes at batch > 1 ({@link ColumnTiles#slabs}: at most {@link ColumnTiles#SLAB_MAX_PLANE} pixels)
 * take the batched path instead: the column matrices of a slab of images side by side, gathered straight into
 * the GEMM's packed-B panels ({@link Im2col.Padded#fillPanels}), so that one GEMM y_g[og, images * plane] =
 * W_g x col replaces a GEMM per image with N = plane (49 columns for a 7x7 map: a quarter of the last 16-wide
 * panel wasted, per-call overhead on little work, and an im2col of rows 7 pixels long); its rows go through the
 * epilogue in scratch and are copied to each image's planes. DCGAN's 4x4/2 64 -> 128 layer at batch 64 went
 * from 29 to 68 GFLOP/s. A {@link ConvGeometry#dense() dense}
 * convolution (kernel = input, one output pixel) needs no im2col at all: x itself, N x C*H*W, is the batch's
 * column matrix (transposed), one GEMM per group for the whole batch.
 *
 * <p>Threads: the (image, group, tile) items, or (slab, group), are shared out whole, each computed with its
 * worker's single-threaded GEMM; when there are fewer items than threads (one image, one tile; one slab), each
 * item's GEMM is split instead. Either way every output element is computed by one thread in the same order, and
 * tiles and slabs depend on the geometry only, so the result does not depend on the thread count.
 */
final class Im2colGemmConv {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final ConvGeometry g;
    private final boolean pointwise, simd;
    private final CpuRuntime rt;
    private final MemorySegment x, y, weights;
    private final ColumnTiles tiles;
    private final PackedFilters filters;
    private final Epilogue epilogue;
    private final Im2colPanels panels;             // shifted convolutions: col written as packed B; else null
    private final Sgemm.PackedB[] col, lastCol;    // per worker, for full tiles and the last, when panels
    private final int blockRows;                   // the GEMM's K block for K, which the packed layout follows
    private final MemorySegment[] rowMajor;        // per worker, when neither pointwise nor panels
    private final Sgemm.Matrix[] rowMajorMatrix;
    private final Sgemm.Matrix[] inputMatrix;      // per item when pointwise: the input tile as B
    private final ColumnTiles.Slabs slabs;         // the batched path: images side by side; null per image
    private final boolean dense;                   // batched, and col is x itself (ConvGeometry.dense)
    private final int slabWidth;                   // columns of a full slab: the leading dimension of its scratch
    private final MemorySegment[] slabOut;         // per worker: a slab's product, og x slabWidth
    private final Sgemm.PackedB[] slabCol, lastSlabCol; // per worker, not dense: full slabs' col and the last's
    private final Sgemm.Matrix[] denseInput;       // per (slab, group) when dense: x's rows as op(B) = col
    private final Im2col.Padded[] padded;          // per worker, batched and not dense: the gathering im2col
    private final int items;
    private final long flops;
    private final CpuRuntime.RangeTask share;

    /**
     * @param weights  the filter as groups of og x k row-major matrices ({@link ConvGeometry#wAt})
     * @param prepare  run before re-packing when the weight changed (derives {@code weights}), or null
     * @param epilogue applied to every output row, or null
     */
    private Im2colGemmConv(ConvGeometry g, boolean pointwise, CpuRuntime rt, MemorySegment x, MemorySegment y,
                           MemorySegment weights, CpuNode.Watch watch, Runnable prepare, Epilogue epilogue) {
        this.g = g;
        this.pointwise = pointwise;
        this.simd = VectorConfig.SIMD;
        this.rt = rt;
        this.x = x;
        this.y = y;
        this.epilogue = epilogue;
        this.weights = weights;
        Sgemm geometry = rt.gemmGeometry();
        dense = g.dense();
        slabs = dense ? ColumnTiles.Slabs.of(g.n, g.n) : ColumnTiles.slabs(g.n, g.plane, g.k + g.og);
        slabWidth = slabs == null ? 0 : slabs.per() * g.plane;
        tiles = slabs != null ? new ColumnTiles(g.plane, g.plane, 1) : ColumnTiles.of(g.plane, g.k, geometry.nr());
        Sgemm.Matrix[] w = new Sgemm.Matrix[g.groups];
        int[] rows = new int[g.groups], cols = new int[g.groups];
        for (int grp = 0; grp < g.groups; grp++) {
            w[grp] = Sgemm.Matrix.of(weights, g.wAt(grp), g.k);
            rows[grp] = g.og;
            cols[grp] = g.k;
        }
        filters = new PackedFilters(geometry, watch, w, rows, cols, prepare);
        items = slabs != null ? slabs.count() * g.groups : g.n * g.groups * tiles.count();
        flops = (long) g.n * g.flopsPerImage();
        blockRows = geometry.kcFor(g.k);
        int workers = rt.threads();
        boolean gathered = slabs != null && !dense;
        slabOut = slabs != null ? new MemorySegment[workers] : null;
        slabCol = gathered ? new Sgemm.PackedB[workers] : null;
        lastSlabCol = gathered ? new Sgemm.PackedB[workers] : null;
        padded = gathered ? new Im2col.Padded[workers] : null;
        for (int t = 0; slabs != null && t < workers; t++) {
            slabOut[t] = rt.scratch((long) g.og * slabWidth * Float.BYTES);
            if (!gathered) continue;
            int last = (slabs.to(slabs.count() - 1) - slabs.from(slabs.count() - 1)) * g.plane;
            slabCol[t] = geometry.emptyB(g.k, slabWidth);
            lastSlabCol[t] = last == slabWidth ? slabCol[t] : geometry.emptyB(g.k, last);
            padded[t] = new Im2col.Padded(g, slabs.per(), simd);
        }
        denseInput = dense ? new Sgemm.Matrix[items] : null;
        for (int i = 0; dense && i < items; i++)
            denseInput[i] = Sgemm.Matrix.transposed(x, g.xAt(slabs.from(i / g.groups), i % g.groups),
                    (int) g.imageSize());
        if (slabs != null) {
            panels = null;
            col = lastCol = null;
            rowMajor = null;
            rowMajorMatrix = null;
            inputMatrix = null;
            share = (worker, from, to) -> {
                for (int i = from; i < to; i++) slab(i, worker, rt.gemmOf(worker));
            };
            return;
        }
        panels = !pointwise && g.shifted() ? new Im2colPanels(g, geometry.nr(), blockRows, simd) : null;
        col = panels != null ? new Sgemm.PackedB[workers] : null;
        lastCol = panels != null ? new Sgemm.PackedB[workers] : null;
        rowMajor = !pointwise && panels == null ? new MemorySegment[workers] : null;
        rowMajorMatrix = rowMajor != null ? new Sgemm.Matrix[workers] : null;
        int lastWidth = tiles.to(tiles.count() - 1) - tiles.from(tiles.count() - 1);
        for (int t = 0; t < workers; t++) {
            if (panels != null) {
                col[t] = geometry.emptyB(g.k, tiles.width());
                lastCol[t] = lastWidth == tiles.width() ? col[t] : geometry.emptyB(g.k, lastWidth);
            } else if (rowMajor != null) {
                rowMajor[t] = rt.scratch((long) g.k * tiles.width() * Float.BYTES);
                rowMajorMatrix[t] = Sgemm.Matrix.of(rowMajor[t], 0, tiles.width());
            }
        }
        inputMatrix = pointwise ? new Sgemm.Matrix[items] : null;
        for (int i = 0; pointwise && i < items; i++) {
            int t = i % tiles.count(), ng = i / tiles.count();
            inputMatrix[i] = Sgemm.Matrix.of(x, g.xAt(ng / g.groups, ng % g.groups) + tiles.from(t), g.plane);
        }
        share = (worker, from, to) -> {
            for (int i = from; i < to; i++) item(i, worker, rt.gemmOf(worker));
        };
    }

    /** Conv2d; {@code pointwise} selects the "gemm1x1" algorithm (the input is the column matrix). */
    static CpuKernel create(Conv2d op, CpuNode node, boolean pointwise) {
        ConvGeometry g = new ConvGeometry(node.inShape(0), node.inShape(1), node.outShape(0), op.strideH(),
                op.strideW(), op.padTop(), op.padLeft(), op.dilationH(), op.dilationW(), op.groups());
        if (pointwise && !g.pointwise())
            throw new IllegalStateException("algorithm '" + ConvChooser.GEMM_1X1 + "' needs a 1x1 kernel, stride 1 and"
                    + " no padding; node '" + node.name() + "' is " + g);
        Im2colGemmConv k = new Im2colGemmConv(g, pointwise, node.runtime(), node.in(0), node.out(0), node.in(1),
                node.watch(1), null, node.epilogue(2));
        return ctx -> k.run();
    }

    /**
     * Whether the adjoint of {@code conv} (its data gradient) runs as a forward convolution ({@link #adjoint}):
     * it can at stride 1 with start padding at most the dilated kernel's reach (the forward convolution's padding
     * dilation*(k-1) - pad is then not negative), and it pays unless dx has far fewer channels than dy, or many more
     * pixels ({@link #AS_FORWARD_MAX_GROWTH}; never for a dense convolution, whose adjoint is one GEMM). The
     * forward form's GEMM has M = C/groups and writes an O*kH*kW-row column matrix; GEMM + col2im has M =
     * C/groups*kH*kW and scatters a C*kH*kW-row one. For a first layer's data gradient (C = 3, O = 64) the
     * forward form would im2col 21 times as many rows into a GEMM of 3 rows.
     */
    static boolean adjointAsForward(ConvGeometry conv) {
        return conv.sh == 1 && conv.sw == 1 && conv.pt <= conv.dh * (conv.kh - 1) && conv.pl <= conv.dw * (conv.kw - 1)
                && 4 * conv.cg >= conv.og && !conv.dense()
                && (long) conv.h * conv.w * 100 <= (long) conv.plane * AS_FORWARD_MAX_GROWTH;
    }

    /**
     * The forward form computes dx's H*W pixels per image where GEMM + col2im computes dy's Ho*Wo: for a "valid"
     * convolution it multiplies by padding zeros (DCGAN's first ConvTranspose2d, 1x1 -> 7x7: 49 times the work,
     * 0.8 GFLOP/s where the dense GEMM runs at 55). At most this many percent more pixels: LeNet's c3 data
     * gradient (196 / 100 pixels) took 6.9 ms as a forward convolution and 1.8 ms as GEMM + col2im at batch 64;
     * a 3x3 64@14x14 -> 12x12 (136%) 2.7 / 1.9 ms at batch 8; 32@28x28 -> 26x26 (116%) 4.2 / 4.5 ms.
     */
    static final int AS_FORWARD_MAX_GROWTH = 125;

    /**
     * The adjoint of {@code conv} in its input, dx = conv^T(dy) (Conv2d's data gradient; ConvTranspose2d's
     * forward pass with {@code bias}), for a stride-1 {@code conv} ({@link #adjointAsForward}): at stride 1 it is
     * the forward convolution of dy with the filter flipped in both spatial axes and its channel axes swapped,
     * w'[c, o, ky, kx] = w[o, c, kH-1-ky, kW-1-kx], padding dilation*(k-1) - pad at the start. So it runs as
     * fast as the forward pass (the GEMM's depth is O*kH*kW, not O as in GEMM + col2im, and no scatter), and the
     * "same" layers take the {@link Im2colPanels} path. dy is input 0 and w input 1 of {@code node}.
     */
    static CpuKernel adjoint(CpuNode node, ConvGeometry conv, boolean bias) {
        ConvGeometry g = new ConvGeometry(
                Shape.of(conv.n, conv.o, conv.ho, conv.wo),
                Shape.of(conv.c, conv.og, conv.kh, conv.kw),
                Shape.of(conv.n, conv.c, conv.h, conv.w),
                1, 1, conv.dh * (conv.kh - 1) - conv.pt, conv.dw * (conv.kw - 1) - conv.pl, conv.dh, conv.dw, conv.groups);
        MemorySegment w = node.in(1);
        MemorySegment flipped = node.runtime().scratch((long) conv.o * conv.k * Float.BYTES);
        int taps = conv.kh * conv.kw;
        Runnable flip = () -> {
            // w'[grp*cg + c][(ol*kH + ky)*kW + kx] = w[grp*og + ol][c][kH-1-ky][kW-1-kx]
            for (int grp = 0; grp < conv.groups; grp++)
                for (int ol = 0; ol < conv.og; ol++)
                    for (int c = 0; c < conv.cg; c++) {
                        long from = ((long) (grp * conv.og + ol) * conv.cg + c) * taps;
                        long to = ((long) (grp * conv.cg + c) * conv.og + ol) * taps;
                        for (int t = 0; t < taps; t++)
                            flipped.setAtIndex(F, to + taps - 1 - t, w.getAtIndex(F, from + t));
                    }
        };
        Im2colGemmConv k = new Im2colGemmConv(g, g.pointwise(), node.runtime(), node.in(0), node.out(0), flipped,
                node.watch(1), flip, bias ? node.epilogue(2) : null);
        return ctx -> k.run();
    }

    private void run() {
        if (epilogue != null) epilogue.refresh();
        filters.refresh();
        if (items >= rt.threads()) {
            rt.parallelFor(items, flops, share);
        } else if (slabs != null) {
            for (int i = 0; i < items; i++) slab(i, 0, null);
        } else {
            for (int i = 0; i < items; i++) item(i, 0, null);
        }
    }

    /**
     * Item i = (slab, group) of the batched path: the slab's column matrices side by side (x itself when
     * dense), one GEMM y_g[og, images * plane] = W_g x col into scratch, the epilogue on its rows, then each
     * image's rows copied to its place in y. {@code gemm} null: the runtime's multi-threaded GEMM.
     */
    private void slab(int i, int worker, Sgemm gemm) {
        int grp = i % g.groups, s = i / g.groups, img0 = slabs.from(s), img1 = slabs.to(s);
        int cols = (img1 - img0) * g.plane;
        Sgemm.OperandB b;
        if (dense) {
            b = denseInput[i];
        } else {
            Sgemm.PackedB packed = s == slabs.count() - 1 ? lastSlabCol[worker] : slabCol[worker];
            for (int img = img0; img < img1; img++) padded[worker].load(img - img0, x, g.xAt(img, grp), 0, g.cg);
            padded[worker].fillPanels(cols, packed, blockRows);
            b = packed;
        }
        MemorySegment out = slabOut[worker];
        if (dense && g.og <= ConvKernels.THIN_DENSE_ROWS) {
            // a few output channels: dot products of each image with each filter row (ConvKernels.THIN_DENSE_ROWS)
            for (int r = 0; r < g.og; r++)
                for (int img = img0; img < img1; img++)
                    out.setAtIndex(F, (long) r * slabWidth + img - img0,
                            ConvKernels.dot(x, g.xAt(img, grp), weights, g.wAt(grp) + (long) r * g.k, g.k, simd));
        } else if (gemm != null) {
            gemm.multiply(g.og, cols, g.k, 1f, filters.get(grp), b, 0f, out, 0, slabWidth);
        } else {
            rt.gemm(g.og, cols, g.k, 1f, filters.get(grp), b, 0f, out, 0, slabWidth);
        }
        for (int r = 0; r < g.og; r++) {
            long row = (long) r * slabWidth;
            if (epilogue != null) epilogue.apply(out, row, grp * g.og + r, cols);
            for (int img = img0; img < img1; img++)
                Im2col.copy(out, row + (long) (img - img0) * g.plane, y, g.yAt(img, grp) + (long) r * g.plane,
                        g.plane, simd);
        }
    }

    /** Item i = (image, group, tile); {@code gemm} null: the runtime's multi-threaded GEMM. */
    private void item(int i, int worker, Sgemm gemm) {
        int t = i % tiles.count(), ng = i / tiles.count(), grp = ng % g.groups, img = ng / g.groups;
        int j0 = tiles.from(t), nt = tiles.to(t) - j0;
        Sgemm.OperandB b;
        if (pointwise) {
            b = inputMatrix[i];
        } else if (panels != null) {
            Sgemm.PackedB packed = t == tiles.count() - 1 ? lastCol[worker] : col[worker];
            panels.fill(x, g.xAt(img, grp), j0, j0 + nt, packed);
            b = packed;
        } else {
            Im2col.fill(g, x, g.xAt(img, grp), 0, g.k, j0, j0 + nt, rowMajor[worker], 0, tiles.width(), simd);
            b = rowMajorMatrix[worker];
        }
        long cAt = g.yAt(img, grp) + j0;
        if (gemm != null) gemm.multiply(g.og, nt, g.k, 1f, filters.get(grp), b, 0f, y, cAt, g.plane);
        else rt.gemm(g.og, nt, g.k, 1f, filters.get(grp), b, 0f, y, cAt, g.plane);
        if (epilogue != null)
            for (int r = 0; r < g.og; r++) epilogue.apply(y, cAt + (long) r * g.plane, grp * g.og + r, nt);
    }
}
