package dev.stride.engine.cpu;

import dev.stride.graph.op.Conv2d;

import java.lang.foreign.MemorySegment;

/**
 * Conv2d forward through GEMM ({@link ConvGeometry}): for each image, group and tile of output pixels,
 * y_g[og, tile] = W_g[og, K] x col[K, tile], then the node's {@link Epilogue} (bias, folded batch norm,
 * activation) on each output row of the tile while it is in cache. W_g is packed once per weight change
 * ({@link PackedFilters}); col is per-worker scratch, written straight into the GEMM's packed-B layout for a
 * {@link ConvGeometry#shifted() shifted} convolution ({@link Im2colPanels}: the GEMM does not pack it again),
 * row-major otherwise ({@link Im2col}); for a pointwise convolution ({@link ConvGeometry#pointwise()}: the
 * "gemm1x1" algorithm) it is the input itself.
 *
 * <p>Threads: the (image, group, tile) items are shared out whole, each computed with its worker's
 * single-threaded GEMM; when there are fewer items than threads (one image, one tile), each item's GEMM is split
 * instead. Either way every output element is computed by one thread in the same order, so the result does not
 * depend on the thread count.
 */
final class Im2colGemmConv {
    private final ConvGeometry g;
    private final boolean pointwise, simd;
    private final CpuRuntime rt;
    private final MemorySegment x, y;
    private final ColumnTiles tiles;
    private final PackedFilters filters;
    private final Epilogue epilogue;
    private final Im2colPanels panels;             // shifted convolutions: col written as packed B; else null
    private final Sgemm.PackedB[] col, lastCol;    // per worker, for full tiles and the last, when panels
    private final int blockRows;                   // the GEMM's K block for K, which the packed layout follows
    private final MemorySegment[] rowMajor;        // per worker, when neither pointwise nor panels
    private final Sgemm.Matrix[] rowMajorMatrix;
    private final Sgemm.Matrix[] inputMatrix;      // per item when pointwise: the input tile as B
    private final int items;
    private final long flops;
    private final CpuRuntime.RangeTask share;

    private Im2colGemmConv(Conv2d op, CpuNode node, boolean pointwise) {
        g = new ConvGeometry(node.inShape(0), node.inShape(1), node.outShape(0), op.strideH(), op.strideW(),
                op.padTop(), op.padLeft(), op.dilationH(), op.dilationW(), op.groups());
        if (pointwise && !g.pointwise())
            throw new IllegalStateException("algorithm '" + ConvChooser.GEMM_1X1 + "' needs a 1x1 kernel, stride 1 and"
                    + " no padding; node '" + node.name() + "' is " + g);
        this.pointwise = pointwise;
        this.simd = VectorConfig.SIMD;
        rt = node.runtime();
        x = node.in(0);
        y = node.out(0);
        Sgemm geometry = rt.gemmGeometry();
        tiles = ColumnTiles.of(g.plane, g.k, geometry.nr());
        Sgemm.Matrix[] w = new Sgemm.Matrix[g.groups];
        int[] rows = new int[g.groups], cols = new int[g.groups];
        for (int grp = 0; grp < g.groups; grp++) {
            w[grp] = Sgemm.Matrix.of(node.in(1), g.wAt(grp), g.k);
            rows[grp] = g.og;
            cols[grp] = g.k;
        }
        filters = new PackedFilters(geometry, node.watch(1), w, rows, cols);
        epilogue = node.epilogue(2);
        items = g.n * g.groups * tiles.count();
        flops = (long) g.n * g.flopsPerImage();
        blockRows = geometry.kcFor(g.k);
        panels = !pointwise && g.shifted() ? new Im2colPanels(g, geometry.nr(), blockRows, simd) : null;
        int workers = rt.threads();
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

    /** The kernel; {@code pointwise} selects the "gemm1x1" algorithm (the input is the column matrix). */
    static CpuKernel create(Conv2d op, CpuNode node, boolean pointwise) {
        Im2colGemmConv k = new Im2colGemmConv(op, node, pointwise);
        return ctx -> k.run();
    }

    private void run() {
        epilogue.refresh();
        filters.refresh();
        if (items >= rt.threads()) {
            rt.parallelFor(items, flops, share);
        } else {
            for (int i = 0; i < items; i++) item(i, 0, null);
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
        for (int r = 0; r < g.og; r++) epilogue.apply(y, cAt + (long) r * g.plane, grp * g.og + r, nt);
    }
}
