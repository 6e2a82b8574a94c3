package dev.stride.engine.cpu;

import dev.stride.graph.op.Conv2dBackwardFilter;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Conv2d's filter gradient through GEMM: dW_g[og, K] = sum over images and pixel tiles of
 * dy_g[og, tile] x col[K, tile]^T ({@link ConvGeometry}, {@link Im2col}).
 *
 * <p>The batch sum has a fixed order whatever the thread count. Items are (image chunk, group, block of K
 * columns): a block needs only its own rows of col, so blocks split the work without im2col twice. A chunk
 * accumulates its images and tiles in order into its own partial dW (chunk 0 into the output); the partials are
 * then added in chunk order. Chunks are single images when the partials are small
 * ({@link #PARTIAL_BYTES}: early layers, few channels and large images), otherwise the whole batch (late layers,
 * whose large K gives enough blocks).
 *
 * <p>Small planes at batch > 1 ({@link ColumnTiles#filterSlabs}) take the batched path: a chunk sums slabs of images
 * instead of (image, tile) pairs, each slab one GEMM whose depth is images * plane (dy copied channel-major once
 * per run, {@link Im2col#channelMajor}; col^T gathered straight into the GEMM's packed panels,
 * {@link Im2col.Padded#fillPanelsTransposed}), where the per-image GEMM had a depth of one plane (49 for a 7x7
 * map), paid a C update per image and packed a transposed im2col tile. Partials are per slab then. DCGAN's
 * 4x4/2 64 -> 128 layer at batch 64 went from 26 to 61 GFLOP/s. A {@link ConvGeometry#dense() dense}
 * convolution is one GEMM per group, dW_g = dy_g^T[og, N] x x_g[N, K], the batch sum being the GEMM's own K loop
 * (with at most {@link ConvKernels#THIN_DENSE_ROWS} rows, axpys over the images in order). Either way the order
 * of the sum depends on the geometry only.
 */
final class Im2colGemmFilterGrad {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final VectorSpecies<Float> S = VectorConfig.SPECIES;

    /**
     * Columns of dW per block (the GEMM's N), about. Each block's GEMM packs its dy tile (og x pixels) again, so
     * blocks should be wide; a single image still splits into several on a 3x3 layer (K = 9 C).
     */
    static final int BLOCK_COLUMNS = 192;
    /** The most memory per-image partial filter gradients may take. */
    static final long PARTIAL_BYTES = 8L << 20;

    private final ConvGeometry g;
    private final boolean simd;
    private final CpuRuntime rt;
    private final MemorySegment x, dy, dw;
    private final int chunks, blockCols, blocks;
    private final long weightSize;
    private final ColumnTiles tiles;
    private final MemorySegment partials;          // chunks 1.. : (chunks - 1) * weightSize floats
    private final MemorySegment[] col;
    private final Sgemm.Matrix[] colMatrix;        // per worker: op(B) = col^T
    private final Sgemm.Matrix[] dyMatrix;         // per (image, group, tile)
    private final ColumnTiles.Slabs slabs;         // the batched path: images side by side; null per image
    private final int units;                       // what a chunk's GEMMs are summed over: slabs, or (image, tile)
    private final int slabWidth;
    private final MemorySegment dyRows;            // batched: dy channel-major (Im2col.channelMajor), per run
    private final Sgemm.Matrix[] slabDy;           // per (slab, group): its rows of dyRows, og x images * plane
    private final Im2col.Padded[] padded;          // per worker, batched: the gathering im2col
    private final Sgemm.PackedB[] slabCol;         // batched: [4 worker + 2 (last slab) + (last block)], col^T
    private final int[] slabSteps;                 // batched: the GEMM's K block for a full slab and the last
    private final boolean dense;                   // ConvGeometry.dense: one GEMM per group, K = N
    private final Sgemm.Matrix[] denseDy, denseX;  // per group, when dense
    private final int items;
    private final long flops;
    private final CpuRuntime.RangeTask share;

    Im2colGemmFilterGrad(Conv2dBackwardFilter op, CpuNode node) {
        g = new ConvGeometry(node.inShape(0), node.outShape(0), node.inShape(1), op.strideH(), op.strideW(),
                op.padTop(), op.padLeft(), op.dilationH(), op.dilationW(), op.groups());
        simd = VectorConfig.SIMD;
        rt = node.runtime();
        x = node.in(0);
        dw = node.out(0);
        weightSize = (long) g.o * g.k;
        Sgemm geometry = rt.gemmGeometry();
        // whole panels of NR columns per block: an edge panel is computed into a scratch tile and merged
        int wanted = Math.ceilDiv(g.k, BLOCK_COLUMNS);
        blockCols = Math.min(g.k, Math.ceilDiv(Math.ceilDiv(g.k, wanted), geometry.nr()) * geometry.nr());
        blocks = Math.ceilDiv(g.k, blockCols);
        dense = g.dense();
        slabs = dense ? null : ColumnTiles.filterSlabs(g.n, g.plane, blockCols + g.og);
        slabWidth = slabs == null ? 0 : slabs.per() * g.plane;
        tiles = slabs != null ? new ColumnTiles(g.plane, g.plane, 1) : ColumnTiles.of(g.plane, blockCols, geometry.nr());
        units = slabs != null ? slabs.count() : g.n * tiles.count();
        int images = slabs != null ? slabs.count() : g.n;   // chunks hold whole images (or slabs)
        chunks = !dense && images > 1 && (images - 1) * weightSize * Float.BYTES <= PARTIAL_BYTES ? images : 1;
        partials = chunks > 1 ? rt.scratch((chunks - 1) * weightSize * Float.BYTES) : null;
        col = new MemorySegment[dense || slabs != null ? 0 : rt.threads()];
        colMatrix = new Sgemm.Matrix[col.length];
        for (int t = 0; t < col.length; t++) {
            col[t] = rt.scratch((long) blockCols * tiles.width() * Float.BYTES);
            colMatrix[t] = Sgemm.Matrix.transposed(col[t], 0, tiles.width());
        }
        // batched: col^T written as packed panels, one operand per (last slab?, last block?) and worker
        slabCol = new Sgemm.PackedB[slabs != null ? 4 * rt.threads() : 0];
        for (int t = 0; t < slabCol.length; t++) {
            boolean lastSlab = (t & 2) != 0, lastBlock = (t & 1) != 0;
            int cols = (lastSlab ? slabs.to(slabs.count() - 1) - slabs.from(slabs.count() - 1) : slabs.per()) * g.plane;
            int n = lastBlock ? g.k - (blocks - 1) * blockCols : Math.min(g.k, blockCols);
            slabCol[t] = geometry.emptyB(cols, n);
        }
        dyRows = slabs != null ? rt.scratch((long) g.n * g.o * g.plane * Float.BYTES) : null;
        slabDy = new Sgemm.Matrix[slabs != null ? slabs.count() * g.groups : 0];
        for (int i = 0; i < slabDy.length; i++)
            slabDy[i] = Sgemm.Matrix.of(dyRows, ((long) (i % g.groups) * g.og * g.n + slabs.from(i / g.groups)) * g.plane,
                    g.n * g.plane);
        padded = slabs != null ? new Im2col.Padded[rt.threads()] : null;
        for (int t = 0; padded != null && t < padded.length; t++) padded[t] = new Im2col.Padded(g, slabs.per(), simd);
        slabSteps = slabs == null ? null
                : new int[] {geometry.kcFor(slabWidth), geometry.kcFor(slabCol[2].rows())};
        dy = node.in(1);
        denseDy = new Sgemm.Matrix[dense ? g.groups : 0];
        denseX = new Sgemm.Matrix[denseDy.length];
        for (int grp = 0; grp < denseDy.length; grp++) {
            // dy is N x O (one pixel): op(A) = dy_g^T, og x N; x is N x C*H*W, group g's columns are col's rows
            denseDy[grp] = Sgemm.Matrix.transposed(dy, g.yAt(0, grp), g.o);
            denseX[grp] = Sgemm.Matrix.of(x, g.xAt(0, grp), (int) g.imageSize());
        }
        dyMatrix = new Sgemm.Matrix[g.n * g.groups * tiles.count()];
        for (int img = 0; img < g.n; img++)
            for (int grp = 0; grp < g.groups; grp++)
                for (int t = 0; t < tiles.count(); t++)
                    dyMatrix[(img * g.groups + grp) * tiles.count() + t] =
                            Sgemm.Matrix.of(dy, g.yAt(img, grp) + tiles.from(t), g.plane);
        items = chunks * g.groups * blocks;
        flops = (long) g.n * g.flopsPerImage();
        share = (worker, from, to) -> {
            for (int i = from; i < to; i++) item(i, worker, rt.gemmOf(worker));
        };
    }

    static CpuKernel create(Conv2dBackwardFilter op, CpuNode node) {
        Im2colGemmFilterGrad k = new Im2colGemmFilterGrad(op, node);
        return ctx -> k.run();
    }

    private void run() {
        if (dense && g.og <= ConvKernels.THIN_DENSE_ROWS) {
            // a few output channels: dW row o = sum over images, in order, of dy[img, o] x[img]
            // (ConvKernels.THIN_DENSE_ROWS)
            dw.fill((byte) 0);
            for (int grp = 0; grp < g.groups; grp++)
                for (int img = 0; img < g.n; img++)
                    for (int o = 0; o < g.og; o++)
                        ConvKernels.axpy(dy.getAtIndex(F, g.yAt(img, grp) + o), x, g.xAt(img, grp), dw,
                                g.wAt(grp) + (long) o * g.k, g.k, simd);
            return;
        }
        if (dense) {
            // dW_g[og, K] = dy_g^T[og, N] x x_g[N, K]: the sum over images is the GEMM's K, on all threads
            for (int grp = 0; grp < g.groups; grp++)
                rt.gemm(g.og, g.k, g.n, 1f, denseDy[grp], denseX[grp], 0f, dw, g.wAt(grp), g.k);
            return;
        }
        if (slabs != null) Im2col.channelMajor(dy, dyRows, g.n, g.o, g.plane, simd);
        if (items >= rt.threads()) {
            rt.parallelFor(items, flops, share);
        } else {
            for (int i = 0; i < items; i++) item(i, 0, null);
        }
        for (int p = 1; p < chunks; p++) addInto(dw, partials, (p - 1) * weightSize, weightSize);
    }

    /** Item i = (chunk, group, block); {@code gemm} null: the runtime's multi-threaded GEMM. */
    private void item(int i, int worker, Sgemm gemm) {
        int b = i % blocks, cgIdx = i / blocks, grp = cgIdx % g.groups, p = cgIdx / g.groups;
        int k0 = b * blockCols, k1 = Math.min(g.k, k0 + blockCols);
        MemorySegment c = p == 0 ? dw : partials;
        long cAt = (p == 0 ? 0 : (p - 1) * weightSize) + g.wAt(grp) + k0;
        int from = (int) ((long) units * p / chunks), to = (int) ((long) units * (p + 1) / chunks);
        float beta = 0f;
        for (int u = from; u < to; u++) {
            int cols;
            Sgemm.OperandA a;
            Sgemm.OperandB bt;
            if (slabs != null) {
                // the slab's images side by side: dy_g's rows of the channel-major copy, col's rows [k0, k1)
                // transposed, gathered straight into packed panels
                int img0 = slabs.from(u), img1 = slabs.to(u), taps = g.kh * g.kw;
                boolean lastSlab = u == slabs.count() - 1;
                cols = (img1 - img0) * g.plane;
                for (int img = img0; img < img1; img++)
                    padded[worker].load(img - img0, x, g.xAt(img, grp), k0 / taps, Math.ceilDiv(k1, taps));
                Sgemm.PackedB packed = slabCol[4 * worker + (lastSlab ? 2 : 0) + (b == blocks - 1 ? 1 : 0)];
                padded[worker].fillPanelsTransposed(k0, k1, cols, packed, slabSteps[lastSlab ? 1 : 0]);
                a = slabDy[u * g.groups + grp];
                bt = packed;
            } else {
                int img = u / tiles.count(), t = u % tiles.count(), j0 = tiles.from(t), j1 = tiles.to(t);
                cols = j1 - j0;
                Im2col.fill(g, x, g.xAt(img, grp), k0, k1, j0, j1, col[worker], 0, tiles.width(), simd);
                a = dyMatrix[(img * g.groups + grp) * tiles.count() + t];
                bt = colMatrix[worker];
            }
            if (gemm != null) gemm.multiply(g.og, k1 - k0, cols, 1f, a, bt, beta, c, cAt, g.k);
            else rt.gemm(g.og, k1 - k0, cols, 1f, a, bt, beta, c, cAt, g.k);
            beta = 1f;
        }
    }

    /** dst[i] += src[at + i], i < len. */
    private void addInto(MemorySegment dst, MemorySegment src, long at, long len) {
        long i = 0;
        if (simd) {
            for (int step = S.length(); i <= len - step; i += step)
                FloatVector.fromMemorySegment(S, dst, i * 4, NATIVE)
                        .add(FloatVector.fromMemorySegment(S, src, (at + i) * 4, NATIVE))
                        .intoMemorySegment(dst, i * 4, NATIVE);
        }
        for (; i < len; i++) dst.setAtIndex(F, i, dst.getAtIndex(F, i) + src.getAtIndex(F, at + i));
    }
}
