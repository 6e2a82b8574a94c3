package dev.stride.engine.cpu;

import dev.stride.graph.op.Conv2dBackwardData;
import dev.stride.graph.op.ConvTranspose2d;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The adjoint of a convolution in its input, through GEMM: for each image and group, col[K, pixels] =
 * W_g^T[K, og] x dy_g[og, pixels], then dx += {@link Col2im col2im}(col). It is Conv2d's data gradient, and
 * ConvTranspose2d's forward pass (its input in the role of dy, its bias added to every output plane).
 *
 * <p>At stride 1 both run as a forward convolution with the flipped filter instead
 * ({@link Im2colGemmConv#adjoint}); this class serves strides above 1.
 *
 * <p>Work items are (image, group, block of input channels): a block's rows of W_g^T are a packed operand of
 * their own, and its col2im writes only that block's dx planes, so blocks run on different threads without
 * sharing an output element, and a single image still splits. Output pixels are taken in tiles so that the
 * col scratch stays bounded ({@link ColumnTiles}); a block accumulates its tiles in tile order. A pointwise
 * convolution writes the GEMM straight into dx. Blocks and tiles depend on the geometry only, so the result does
 * not depend on the thread count.
 *
 * <p>Small planes at batch > 1 ({@link ColumnTiles#slabs}) take the batched path: items are (slab of images,
 * group, channel block), dy is copied channel-major once per run ({@link Im2col#channelMajor}) so that a slab's
 * dy_g is one GEMM operand og x images * plane, one GEMM W_g^T x dy_g per item, then col2im per image by
 * {@link Im2col.Padded} (a scatter through an index table instead of runs a few pixels long). A
 * {@link ConvGeometry#dense() dense} convolution (DCGAN's first ConvTranspose2d from a 1x1 input, the data
 * gradient of a 7x7 head on a 7x7 map) is one GEMM per group, dx_g[N, C*H*W] = dy_g[N, og] x W_g[og, K], straight
 * into dx: its col2im is the identity.
 */
final class Col2imGemmConv {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final VectorSpecies<Float> S = VectorConfig.SPECIES;

    /** A block of input channels aims at this many rows of W^T (the GEMM's M): enough to amortise packing dy. */
    static final int BLOCK_ROWS = 256;
    /** ... and a single image is split in at least this many blocks (when it has the channels), for threads. */
    static final int MIN_BLOCKS = 8;

    private final ConvGeometry g;
    private final boolean pointwise, simd;
    private final CpuRuntime rt;
    private final MemorySegment dy, dx, bias, weight;
    private final int taps, blockChannels, blocks;
    private final ColumnTiles tiles;
    private final PackedFilters filters;
    private final CpuNode.Watch biasWatch;
    private final float[] biasValues;
    private final MemorySegment[] col;
    private final Sgemm.Matrix[] colMatrix;
    private final Sgemm.Matrix[] dyMatrix;         // per (image, group, tile)
    private final ColumnTiles.Slabs slabs;         // the batched path: images side by side; null per image
    private final int slabWidth;                   // columns of a full slab: the leading dimension of its scratch
    private final MemorySegment dyRows;            // batched: dy channel-major (Im2col.channelMajor), per run
    private final Sgemm.Matrix[] slabDy;           // per (slab, group): its rows of dyRows, og x images * plane
    private final Im2col.Padded[] padded;          // per worker, batched: the scattering col2im
    private final boolean dense;                   // ConvGeometry.dense: one GEMM per group straight into dx
    private final Sgemm.Matrix[] denseDy, denseW;  // per group, when dense
    private final int items;
    private final long flops;
    private final CpuRuntime.RangeTask share;

    private Col2imGemmConv(CpuNode node, ConvGeometry g, boolean hasBias) {
        this.g = g;
        this.pointwise = g.pointwise();
        this.simd = VectorConfig.SIMD;
        rt = node.runtime();
        dy = node.in(0);
        dx = node.out(0);
        weight = node.in(1);
        bias = hasBias ? node.in(2) : null;
        biasWatch = hasBias ? node.watch(2) : null;
        biasValues = hasBias ? new float[g.c] : null;
        taps = g.kh * g.kw;
        dense = g.dense();
        // Batched, the slabs give the threads their items: channel blocks only keep M near BLOCK_ROWS (LeNet's
        // c3 data gradient, 150 rows, ran 8 GEMMs of M = 25 and K = 16 otherwise: more C updates than FMAs).
        int byRows = Math.ceilDiv(g.k, BLOCK_ROWS);
        slabs = dense ? null : ColumnTiles.slabs(g.n, g.plane, Math.ceilDiv(g.k, byRows) + g.og);
        int wanted = slabs != null ? byRows : Math.max(byRows, MIN_BLOCKS);
        blockChannels = Math.ceilDiv(g.cg, Math.min(g.cg, wanted));
        blocks = Math.ceilDiv(g.cg, blockChannels);
        Sgemm geometry = rt.gemmGeometry();
        int blockRows = blockChannels * taps;
        slabWidth = slabs == null ? 0 : slabs.per() * g.plane;
        tiles = pointwise || slabs != null ? new ColumnTiles(g.plane, g.plane, 1)
                : ColumnTiles.of(g.plane, blockRows, geometry.nr());
        denseDy = dense ? new Sgemm.Matrix[g.groups] : null;
        denseW = dense ? new Sgemm.Matrix[g.groups] : null;
        for (int grp = 0; dense && grp < g.groups; grp++) {
            // dy is N x O (one pixel), dx N x C*H*W whose group columns are the column matrix's rows, in order
            denseDy[grp] = Sgemm.Matrix.of(dy, g.yAt(0, grp), g.o);
            denseW[grp] = Sgemm.Matrix.of(node.in(1), g.wAt(grp), g.k);
        }

        Sgemm.Matrix[] wt = new Sgemm.Matrix[g.groups * blocks];
        int[] rows = new int[wt.length], cols = new int[wt.length];
        for (int grp = 0; grp < g.groups; grp++) {
            for (int b = 0; b < blocks; b++) {
                int r0 = rowFrom(b), i = grp * blocks + b;
                // rows [r0, r1) of W_g^T: W_g is og x K at wAt(grp), so its transpose starts r0 floats in
                wt[i] = Sgemm.Matrix.transposed(node.in(1), g.wAt(grp) + r0, g.k);
                rows[i] = rowTo(b) - r0;
                cols[i] = g.og;
            }
        }
        // dense: the weight is the GEMM's right operand as it is stored; it is packed by each call
        filters = dense ? null : new PackedFilters(geometry, node.watch(1), wt, rows, cols, null);
        dyMatrix = new Sgemm.Matrix[g.n * g.groups * tiles.count()];
        for (int img = 0; img < g.n; img++)
            for (int grp = 0; grp < g.groups; grp++)
                for (int t = 0; t < tiles.count(); t++)
                    dyMatrix[(img * g.groups + grp) * tiles.count() + t] =
                            Sgemm.Matrix.of(dy, g.yAt(img, grp) + tiles.from(t), g.plane);
        int width = slabs != null ? slabWidth : tiles.width();
        if (dense || pointwise && slabs == null) {
            col = null;
            colMatrix = null;
        } else {
            col = new MemorySegment[rt.threads()];
            colMatrix = new Sgemm.Matrix[rt.threads()];
            for (int t = 0; t < col.length; t++) {
                col[t] = rt.scratch((long) blockRows * width * Float.BYTES);
                colMatrix[t] = Sgemm.Matrix.of(col[t], 0, width);
            }
        }
        dyRows = slabs != null ? rt.scratch((long) g.n * g.o * g.plane * Float.BYTES) : null;
        slabDy = slabs != null ? new Sgemm.Matrix[slabs.count() * g.groups] : null;
        for (int i = 0; slabs != null && i < slabDy.length; i++)
            slabDy[i] = Sgemm.Matrix.of(dyRows, ((long) (i % g.groups) * g.og * g.n + slabs.from(i / g.groups)) * g.plane,
                    g.n * g.plane);
        padded = slabs != null ? new Im2col.Padded[rt.threads()] : null;
        for (int t = 0; padded != null && t < padded.length; t++) padded[t] = new Im2col.Padded(g, 1, simd);
        items = dense ? g.groups : (slabs != null ? slabs.count() : g.n) * g.groups * blocks;
        flops = (long) g.n * g.flopsPerImage();
        share = (worker, from, to) -> {
            for (int i = from; i < to; i++) item(i, worker, rt.gemmOf(worker));
        };
    }

    /** Conv2d's data gradient: dx[N, C, inputH, inputW] from dy[N, O, Ho, Wo] and w[O, C/groups, kH, kW]. */
    static CpuKernel backwardData(Conv2dBackwardData op, CpuNode node) {
        ConvGeometry g = new ConvGeometry(node.outShape(0), node.inShape(1), node.inShape(0), op.strideH(),
                op.strideW(), op.padTop(), op.padLeft(), op.dilationH(), op.dilationW(), op.groups());
        if (Im2colGemmConv.adjointAsForward(g)) return Im2colGemmConv.adjoint(node, g, false);
        Col2imGemmConv k = new Col2imGemmConv(node, g, false);
        return ctx -> k.run();
    }

    /**
     * ConvTranspose2d: y[N, Cout, Ho, Wo] from x[N, Cin, H, W], w[Cin, Cout/groups, kH, kW] and optional bias, as
     * the data gradient of the convolution taking y's size to x's (output padding only makes y larger).
     */
    static CpuKernel transposed(ConvTranspose2d op, CpuNode node) {
        ConvGeometry g = new ConvGeometry(node.outShape(0), node.inShape(1), node.inShape(0), op.strideH(),
                op.strideW(), op.padTop(), op.padLeft(), op.dilationH(), op.dilationW(), op.groups());
        if (Im2colGemmConv.adjointAsForward(g)) return Im2colGemmConv.adjoint(node, g, node.inputs() == 3);
        Col2imGemmConv k = new Col2imGemmConv(node, g, node.inputs() == 3);
        return ctx -> k.run();
    }

    private int rowFrom(int block) { return block * blockChannels * taps; }

    private int rowTo(int block) { return Math.min(g.cg, (block + 1) * blockChannels) * taps; }

    private void run() {
        if (bias != null && biasWatch.changed())
            for (int ch = 0; ch < g.c; ch++) biasValues[ch] = bias.getAtIndex(F, ch);
        if (dense) {
            runDense();
            return;
        }
        filters.refresh();
        if (slabs != null) Im2col.channelMajor(dy, dyRows, g.n, g.o, g.plane, simd);
        if (items >= rt.threads()) {
            rt.parallelFor(items, flops, share);
        } else {
            for (int i = 0; i < items; i++) item(i, 0, null);
        }
    }

    /**
     * {@link ConvGeometry#dense()}: per group, dx_g[N, K] = dy_g[N, og] x W_g[og, K] straight into dx (its
     * group's C*H*W columns are the column matrix's rows, so col2im is the identity), on all threads; with a bias,
     * dx is filled with it first and the product added.
     */
    private void runDense() {
        long hw = (long) g.h * g.w;
        boolean thin = g.og <= ConvKernels.THIN_DENSE_ROWS;
        if (bias != null || thin)
            for (int img = 0; img < g.n; img++)
                for (int ch = 0; ch < g.c; ch++) fill(dx, ((long) img * g.c + ch) * hw, hw, bias == null ? 0f : biasValues[ch]);
        for (int grp = 0; grp < g.groups; grp++) {
            if (thin) {
                // a few dy channels: dx_g[img] += dy[img, o] W_g[o] in channel order (ConvKernels.THIN_DENSE_ROWS)
                for (int img = 0; img < g.n; img++)
                    for (int o = 0; o < g.og; o++)
                        ConvKernels.axpy(dy.getAtIndex(F, g.yAt(img, grp) + o), weight, g.wAt(grp) + (long) o * g.k,
                                dx, g.xAt(img, grp), g.k, simd);
            } else {
                rt.gemm(g.n, g.k, g.og, 1f, denseDy[grp], denseW[grp], bias == null ? 0f : 1f, dx, g.xAt(0, grp),
                        (int) g.imageSize());
            }
        }
    }

    /**
     * Item i = (image, group, channel block), or in the batched path (slab, group, channel block); {@code gemm}
     * null: the runtime's multi-threaded GEMM.
     */
    private void item(int i, int worker, Sgemm gemm) {
        if (slabs != null) {
            slab(i, worker, gemm);
            return;
        }
        int b = i % blocks, ng = i / blocks, grp = ng % g.groups;
        int r0 = rowFrom(b), r1 = rowTo(b);
        int c0 = b * blockChannels, c1 = Math.min(g.cg, c0 + blockChannels);
        long groupAt = g.xAt(ng / g.groups, grp), hw = (long) g.h * g.w;
        if (!pointwise || bias != null) {
            for (int ci = c0; ci < c1; ci++)
                fill(dx, groupAt + ci * hw, hw, bias == null ? 0f : biasValues[grp * g.cg + ci]);
        }
        Sgemm.PackedA a = filters.get(grp * blocks + b);
        if (pointwise) {
            multiply(gemm, r1 - r0, g.plane, g.og, a, dyMatrix[ng], bias == null ? 0f : 1f, dx,
                    groupAt + c0 * hw, g.plane);
            return;
        }
        for (int t = 0; t < tiles.count(); t++) {
            int j0 = tiles.from(t), j1 = tiles.to(t);
            multiply(gemm, r1 - r0, j1 - j0, g.og, a, dyMatrix[ng * tiles.count() + t], 0f, col[worker], 0,
                    tiles.width());
            Col2im.add(g, col[worker], 0, tiles.width(), r0, r1, j0, j1, dx, groupAt, simd);
        }
    }

    /**
     * The batched item: the slab's dy_g planes side by side (og x images * plane), one GEMM with the block's rows
     * of W_g^T into col, then col2im of each image's columns into its dx planes ({@link Im2col.Padded}: the
     * bias or zero, then the terms in row order).
     */
    private void slab(int i, int worker, Sgemm gemm) {
        int b = i % blocks, sg = i / blocks, grp = sg % g.groups, s = sg / g.groups;
        int img0 = slabs.from(s), img1 = slabs.to(s), cols = (img1 - img0) * g.plane;
        int r0 = rowFrom(b), r1 = rowTo(b);
        int c0 = b * blockChannels, c1 = Math.min(g.cg, c0 + blockChannels);
        multiply(gemm, r1 - r0, cols, g.og, filters.get(grp * blocks + b), slabDy[sg], 0f, col[worker], 0,
                slabWidth);
        for (int img = img0; img < img1; img++)
            padded[worker].scatter(col[worker], (long) (img - img0) * g.plane, slabWidth, r0, r1, c0, c1, biasValues,
                    grp * g.cg, dx, g.xAt(img, grp));
    }

    private void multiply(Sgemm gemm, int m, int n, int k, Sgemm.PackedA a, Sgemm.Matrix b, float beta,
                          MemorySegment c, long cAt, int ldc) {
        if (gemm != null) gemm.multiply(m, n, k, 1f, a, b, beta, c, cAt, ldc);
        else rt.gemm(m, n, k, 1f, a, b, beta, c, cAt, ldc);
    }

    private void fill(MemorySegment s, long at, long len, float v) {
        long i = 0;
        if (simd) {
            FloatVector vv = FloatVector.broadcast(S, v);
            for (int step = S.length(); i <= len - step; i += step) vv.intoMemorySegment(s, (at + i) * 4, NATIVE);
        }
        for (; i < len; i++) s.setAtIndex(F, at + i, v);
    }
}
