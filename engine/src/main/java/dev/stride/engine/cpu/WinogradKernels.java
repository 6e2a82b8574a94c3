package dev.stride.engine.cpu;

import dev.stride.engine.RunContext;
import dev.stride.graph.Shape;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Conv2dBackwardData;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Winograd F(2x2,3x3) and F(4x4,3x3) convolution, forward and backward-data. Not registered for an op of its own:
 * {@link ConvKernels} dispatches 3x3 stride-1 convolutions here when the plan's algorithm says so
 * ({@link ConvChooser#WINOGRAD_F2}, {@link ConvChooser#WINOGRAD_F4}).
 *
 * <p>F(m x m, 3x3) computes an m x m output tile from an alpha x alpha input tile (alpha = m + 2) as
 * {@code Y = A^T [(G g G^T) . (B^T d B)] A}, with . the elementwise product (Lavin and Gray, 2015). The matrices,
 * for the correlation y_i = sum_k d_(i+k) g_k that convolution layers compute:
 * <pre>
 * F(2,3), interpolation points 0, 1, -1, inf:
 *   B^T = | 1  0 -1  0 |    G = | 1    0    0   |    A^T = | 1  1  1  0 |
 *         | 0  1  1  0 |        | 1/2  1/2  1/2 |          | 0  1 -1 -1 |
 *         | 0 -1  1  0 |        | 1/2 -1/2  1/2 |
 *         | 0  1  0 -1 |        | 0    0    1   |
 *
 * F(4,3), points 0, 1, -1, 2, -2, inf (as in NNPACK and ncnn):
 *   B^T = | 4  0 -5  0  1  0 |    G = |  1/4     0     0   |    A^T = | 1  1  1  1  1  0 |
 *         | 0 -4 -4  1  1  0 |        | -1/6  -1/6  -1/6  |          | 0  1 -1  2 -2  0 |
 *         | 0  4 -4 -1  1  0 |        | -1/6   1/6  -1/6  |          | 0  1  1  4  4  0 |
 *         | 0 -2 -1  2  1  0 |        |  1/24  1/12  1/6  |          | 0  1 -1  8 -8  1 |
 *         | 0  2 -1 -2  1  0 |        |  1/24 -1/12  1/6  |
 *         | 0  4  0 -5  0  1 |        |  0     0     1    |
 * </pre>
 *
 * <p>The structure is the one that makes the product a GEMM. Output tiles are numbered across the whole batch
 * and processed in blocks of {@code tb} tiles. For a block: every (input channel, tile) is transformed into
 * {@code V[xi][c][tile]} (xi = one of the alpha^2 positions of a transformed tile); then alpha^2 independent GEMMs
 * {@code M[xi] (O x tiles) = U[xi] (O x C) * V[xi] (C x tiles)} run on {@link Sgemm} with the transformed
 * filters packed once per xi; then every (output channel, tile) is transformed back, written, and the epilogue
 * (bias, folded batch norm, activation) applied to each output row segment of the block while it is in cache.
 * The transforms are vectorised across tiles: the alpha^2 inputs of each tile are first gathered into
 * {@code d[position][tile]} (which also handles padding and partial edge tiles), so that every transform step is a
 * contiguous vector load. Scratch per worker is {@code 4 * alpha^2 * (C + O) * tb} bytes, {@code tb} chosen so
 * that it stays near {@link #BLOCK_BYTES}.
 *
 * <p>Threads: blocks are split among workers when there are at least as many blocks as threads (batch > 1 or a
 * large image); otherwise each block is computed cooperatively, the channels of the input transform, the alpha^2
 * GEMMs and the output channels of the output transform each split among workers. Each output element is computed
 * by one thread with the same arithmetic whatever the split (a GEMM column does not depend on the block it is
 * in), so results are bit-identical for any thread count.
 *
 * <p>Backward-data is the same computation: dx = correlation of dy (zero outside, starting at row
 * {@code padTop - 2}, column {@code padLeft - 2}) with the filter rotated by 180 degrees, its in and out channels
 * swapped.
 */
final class WinogradKernels {
    private WinogradKernels() {}

    static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /**
     * The vector species, a static final constant: the Vector API compiles to vector instructions only where the
     * species is a constant in the compiled method. Read from a field or passed as an argument (a method the JIT
     * compiled on its own before inlining it), the transforms measured 1.5-2x slower, sometimes 20x.
     */
    private static final VectorSpecies<Float> SP = VectorConfig.SPECIES;

    /** Scratch per worker that the block size aims at (V and M of one block). */
    static final long BLOCK_BYTES = 2L << 20;

    static void register(CpuKernelRegistry r) {
    }

    /** Whether a convolution with these attributes and kernel size is one Winograd F(m x m, 3x3) computes. */
    static boolean applicable(int kH, int kW, int strideH, int strideW, int dilationH, int dilationW, int groups) {
        return kH == 3 && kW == 3 && strideH == 1 && strideW == 1 && dilationH == 1 && dilationW == 1 && groups == 1;
    }

    /** Forward kernel, F(m x m, 3x3), m = 2 or 4; applies {@code node.epilogue(2)}. */
    static CpuKernel forward(Conv2d op, CpuNode node, int m) {
        return forward(op, node, m, VectorConfig.SIMD, BLOCK_BYTES);
    }

    /** {@link #forward(Conv2d, CpuNode, int)} with SIMD or the scalar path, and a block budget (tests). */
    static Pipeline forward(Conv2d op, CpuNode node, int m, boolean simd, long blockBytes) {
        Shape x = node.inShape(0), w = node.inShape(1), y = node.outShape(0);
        require(applicable(w.dim(2), w.dim(3), op.strideH(), op.strideW(), op.dilationH(), op.dilationW(), op.groups()),
                node, op + " with kernel " + w.dim(2) + "x" + w.dim(3));
        Epilogue epilogue = node.epilogue(2);
        return new Pipeline(m, x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), y.dim(2), y.dim(3),
                -op.padTop(), -op.padLeft(), node.in(0), node.out(0), node.in(1), false, node.watch(1)::changed,
                epilogue, node.runtime(), simd, blockBytes);
    }

    /**
     * Backward-data kernel, F(m x m, 3x3), m = 2 or 4: dx(c, i, j) = sum over o, a, b of
     * dy(o, i + padTop - 2 + a, j + padLeft - 2 + b) * w(o, c, 2 - a, 2 - b). The weight is input 1.
     */
    static CpuKernel backwardData(Conv2dBackwardData op, CpuNode node, int m) {
        return backwardData(op, node, m, VectorConfig.SIMD, BLOCK_BYTES);
    }

    /** {@link #backwardData(Conv2dBackwardData, CpuNode, int)} with SIMD or the scalar path, and a block budget. */
    static Pipeline backwardData(Conv2dBackwardData op, CpuNode node, int m, boolean simd, long blockBytes) {
        Shape dy = node.inShape(0), w = node.inShape(1), dx = node.outShape(0);
        require(applicable(w.dim(2), w.dim(3), op.strideH(), op.strideW(), op.dilationH(), op.dilationW(), op.groups()),
                node, op + " with kernel " + w.dim(2) + "x" + w.dim(3));
        return new Pipeline(m, dy.dim(0), dy.dim(1), dy.dim(2), dy.dim(3), dx.dim(1), dx.dim(2), dx.dim(3),
                op.padTop() - 2, op.padLeft() - 2, node.in(0), node.out(0), node.in(1), true, node.watch(1)::changed,
                null, node.runtime(), simd, blockBytes);
    }

    private static void require(boolean ok, CpuNode node, String what) {
        if (!ok) throw new IllegalArgumentException("node '" + node.name() + "': Winograd F(m x m, 3x3) needs a 3x3"
                + " kernel, stride 1, dilation 1 and one group, got " + what + "; the plan's algorithm '"
                + node.algorithmEntry() + "' does not fit this convolution");
    }

    /** Whether cached transformed filters are stale (a {@link CpuNode.Watch}). */
    @FunctionalInterface
    interface Changed {
        boolean changed();
    }

    /**
     * One Winograd correlation, {@code out[N][CO][HO][WO]}: out(co, oy, ox) = sum over ci, ky, kx of
     * in(ci, oy + rowOff + ky, ox + colOff + kx) * g(co, ci, ky, kx), the input read as zero outside
     * {@code [0, HI) x [0, WI)}. The filter g is w[co][ci][3][3], or with {@code rotated} the data gradient's
     * w[ci][co][2-ky][2-kx].
     */
    static final class Pipeline implements CpuKernel {
        private final int m, a, aa, n, ci, hi, wi, co, ho, wo, rowOff, colOff;
        private final int tH, tW, tilesPerImage, total, tb, blocks, vl;
        private final int runTileRows, runRows;   // tile rows and input rows of one image's part of a block
        private final int pw;                     // columns of a phase: tW + 1 (position q: phase q mod m, from q / m)
        private final int[] tLo, tHi;             // per phase, the columns [tLo, tHi) inside the input
        private final boolean cooperative, simd, rotated;
        private final MemorySegment in, out, w;
        private final Changed filtersChanged;
        private final Epilogue epilogue;          // null: none (backward-data)
        private final CpuRuntime rt;
        private final Sgemm.PackedA[] u;
        private final float[] uf;                 // transformed filters [xi][co][ci], before packing
        private final MemorySegment ufSeg;
        private final float[] fg, fgg;            // a filter group: 3x3 taps, then G g, per lane
        private final Scratch[] scratch;
        private final long blockFlops;
        private final CpuRuntime.RangeTask blockTask, inTask, gemmTask, outTask;
        private int curG0, curNt;                 // the block of the cooperative tasks

        /** One worker's buffers. */
        private static final class Scratch {
            final float[] v, mm, d, t, y, phases, plane, outRows;
            final MemorySegment mSeg, outRowsSeg;
            final Sgemm.Matrix[] vMat;

            Scratch(int aa, int m, int ci, int co, int tb, int vl, int phaseFloats, int planeFloats, int outFloats,
                    boolean gemmBuffers) {
                v = gemmBuffers ? new float[aa * ci * tb] : null;
                mm = gemmBuffers ? new float[aa * co * tb] : null;
                d = new float[aa * (tb + vl)];        // rows of tb + vl: a vector copy may run past a row's tiles
                t = new float[aa * vl];
                y = new float[m * m * tb];
                phases = new float[phaseFloats];
                plane = new float[planeFloats];
                outRows = new float[outFloats];
                outRowsSeg = MemorySegment.ofArray(outRows);
                mSeg = gemmBuffers ? MemorySegment.ofArray(mm) : null;
                vMat = new Sgemm.Matrix[aa];
                if (gemmBuffers) {
                    MemorySegment vSeg = MemorySegment.ofArray(v);
                    for (int xi = 0; xi < aa; xi++) vMat[xi] = Sgemm.Matrix.of(vSeg, (long) xi * ci * tb, tb);
                }
            }
        }

        Pipeline(int m, int n, int ci, int hi, int wi, int co, int ho, int wo, int rowOff, int colOff,
                 MemorySegment in, MemorySegment out, MemorySegment w, boolean rotated, Changed filtersChanged,
                 Epilogue epilogue, CpuRuntime rt, boolean simd, long blockBytes) {
            if (m != 2 && m != 4) throw new IllegalArgumentException("Winograd tile must be 2 or 4, got " + m);
            this.m = m;
            this.a = m + 2;
            this.aa = a * a;
            this.n = n; this.ci = ci; this.hi = hi; this.wi = wi; this.co = co; this.ho = ho; this.wo = wo;
            this.rowOff = rowOff; this.colOff = colOff;
            this.in = in; this.out = out; this.w = w; this.rotated = rotated;
            this.filtersChanged = filtersChanged;
            this.epilogue = epilogue;
            this.rt = rt;
            this.simd = simd;
            this.vl = simd ? SP.length() : 1;
            tH = Math.ceilDiv(ho, m);
            tW = Math.ceilDiv(wo, m);
            tilesPerImage = tH * tW;
            total = n * tilesPerImage;

            // Block size: tiles whose V and M fit the budget, a multiple of the GEMM's NR (whole micro-tiles)
            // and of the vector length; no more than there are tiles.
            int threads = rt.threads();
            int unit = lcm(rt.gemmGeometry().nr(), vl);
            long perTile = 4L * aa * (ci + co);
            int fit = (int) Math.max(unit, Math.min(1 << 16, blockBytes / perTile) / unit * unit);
            int size = Math.min(fit, roundUp(total, vl));
            int count = Math.ceilDiv(total, size);
            // Few blocks and several threads: equal shares, one block per thread or a multiple, when each block
            // still holds enough tiles for the GEMM to stream (MIN_SHARE_TILES); otherwise share each block.
            if (threads > 1 && count < 4 * threads && total >= threads * MIN_SHARE_TILES) {
                int want = roundUp(count, threads);
                size = roundUp(Math.ceilDiv(total, want), vl);
                count = Math.ceilDiv(total, size);
            }
            tb = size;
            blocks = count;
            cooperative = threads > 1 && blocks < threads;
            // The most tile rows one image's part of a block touches, and the input rows they read
            runTileRows = Math.min(tH, Math.ceilDiv(tb, tW) + 1);
            runRows = Math.min(hi, (runTileRows - 1) * m + a);
            pw = tW + 1;
            tLo = new int[m];
            tHi = new int[m];
            for (int ph = 0; ph < m; ph++) {      // phase ph, column t reads input column t*m + ph + colOff
                tLo[ph] = Math.clamp(Math.ceilDiv(-(ph + colOff), m), 0, pw);
                tHi[ph] = Math.clamp(Math.ceilDiv(wi - (ph + colOff), m), tLo[ph], pw);
            }

            fg = new float[9 * vl];
            fgg = new float[3 * a * vl];
            u = new Sgemm.PackedA[aa];
            uf = new float[aa * co * ci];
            ufSeg = MemorySegment.ofArray(uf);
            scratch = new Scratch[threads];
            for (int k = 0; k < threads; k++)
                scratch[k] = new Scratch(aa, m, ci, co, tb, vl, a * m * (tW + 1) + vl, runRows * wi,
                        Math.min(ho, runTileRows * m) * wo, k == 0 || !cooperative);
            blockFlops = 2L * aa * co * ci * tb + TRANSFORM_FLOPS * aa * (ci + co) * tb;

            blockTask = (worker, from, to) -> {
                for (int b = from; b < to; b++) block(worker, b);
            };
            inTask = (worker, from, to) -> {
                for (int c = from; c < to; c++) inputTransform(scratch[worker], scratch[0].v, curG0, curNt, c);
            };
            gemmTask = (worker, from, to) -> {
                Sgemm g = rt.gemmOf(worker);
                for (int xi = from; xi < to; xi++) gemm(g, scratch[0], xi, curNt);
            };
            outTask = (worker, from, to) -> {
                for (int o = from; o < to; o++) outputTransform(scratch[worker], scratch[0].mm, curG0, curNt, o);
            };
        }

        /** Below this many tiles per block a thread's GEMMs (N = tiles) run too short to pay for a share. */
        private static final int MIN_SHARE_TILES = 32;

        /**
         * What transforming one value costs, in GEMM flops of the same time ({@link CpuRuntime#parallelFor}'s
         * threshold is in GEMM flops). Measured for F(4x4), batch 8: the input transform takes 80-300 ns per (tile,
         * channel), i.e. 36 values (56x56 to 7x7 maps: the smaller the map the more per-row overhead), the output
         * transform 60-80 ns per 36 values: 2-8 ns per value, 120-500 flops of a GEMM at 60 GFLOP/s. The low end.
         */
        private static final long TRANSFORM_FLOPS = 120;

        int tilesPerBlock() { return tb; }

        int blocks() { return blocks; }

        boolean cooperative() { return cooperative; }

        @Override public void run(RunContext ctx) {
            if (filtersChanged.changed()) transformFilters();
            if (epilogue != null) epilogue.refresh();
            if (!cooperative) {
                rt.parallelFor(blocks, blockFlops * blocks, blockTask);
                return;
            }
            for (int b = 0; b < blocks; b++) {
                curG0 = b * tb;
                curNt = Math.min(tb, total - curG0);
                rt.parallelFor(ci, TRANSFORM_FLOPS * aa * ci * curNt, inTask);
                rt.parallelFor(aa, 2L * aa * co * ci * curNt, gemmTask);
                rt.parallelFor(co, TRANSFORM_FLOPS * aa * co * curNt, outTask);
            }
        }

        /** One block on one worker: transform in, alpha^2 GEMMs, transform out. */
        private void block(int worker, int b) {
            int g0 = b * tb, nt = Math.min(tb, total - g0);
            Scratch s = scratch[worker];
            for (int c = 0; c < ci; c++) inputTransform(s, s.v, g0, nt, c);
            Sgemm g = rt.gemmOf(worker);
            for (int xi = 0; xi < aa; xi++) gemm(g, s, xi, nt);
            for (int o = 0; o < co; o++) outputTransform(s, s.mm, g0, nt, o);
        }

        private void gemm(Sgemm g, Scratch s, int xi, int nt) {
            g.multiply(co, nt, ci, 1f, u[xi], s.vMat[xi], 0f, s.mSeg, (long) xi * co * tb, tb);
        }

        // ---- filters ----

        /**
         * U[xi] = (G g G^T)[xi] for every (co, ci), packed as GEMM left operands. Vectorised across input channels:
         * for vl channels at once, the 3x3 filters are transposed into gT[k][lane], G applied to their columns, then
         * to the rows of the result, and each of the alpha^2 values stored as vl contiguous floats of its plane
         * U[xi][co][ci]. (Element by element in double, with alpha^2 scattered stores per filter, this took 70 ms
         * for 512 x 512 channels, F(4x4); a training step pays it every time.)
         */
        private void transformFilters() {
            int lanes = simd ? vl : 1, full = simd ? ci - ci % vl : 0;
            for (int o = 0; o < co; o++) {
                for (int c = 0; c < full; c += lanes) filterGroup(o, c, lanes, true);
                for (int c = full; c < ci; c++) filterGroup(o, c, 1, false);
            }
            Sgemm geometry = rt.gemmGeometry();
            long plane = (long) co * ci;
            for (int xi = 0; xi < aa; xi++)
                u[xi] = geometry.packA(Sgemm.Matrix.of(ufSeg, xi * plane, ci), co, ci);
        }

        /** The transformed filters of output channel o and input channels [c, c + lanes) into uf. */
        private void filterGroup(int o, int c, int lanes, boolean vector) {
            float[] g = fg, gg = fgg;
            for (int lane = 0; lane < lanes; lane++) {
                if (!rotated) {
                    long base = ((long) o * ci + c + lane) * 9;
                    for (int k = 0; k < 9; k++) g[k * lanes + lane] = w.getAtIndex(F, base + k);
                } else {                  // w is [ci][co][3][3] here (the forward conv's [O][C]), rotated 180
                    long base = ((long) (c + lane) * co + o) * 9;
                    for (int k = 0; k < 9; k++) g[k * lanes + lane] = w.getAtIndex(F, base + 8 - k);
                }
            }
            int plane = co * ci, at = o * ci + c;
            // gg[p][q] = (G g)[p][q] from the columns of g; then U[p][l] = (gg G^T)[p][l] from the rows of gg
            for (int q = 0; q < 3; q++) filterColumn(vector, g, q * lanes, 3 * lanes, gg, q * lanes, 3 * lanes);
            for (int p = 0; p < a; p++) filterColumn(vector, gg, p * 3 * lanes, lanes, uf, p * a * plane + at, plane);
        }

        /** G (x0, x1, x2)^T, x_k at src[s0 + k * ss], into dst[d0 + k * ds], k < a: vl lanes, or one. */
        private void filterColumn(boolean vector, float[] src, int s0, int ss, float[] dst, int d0, int ds) {
            if (vector) {
                FloatVector x0 = FloatVector.fromArray(SP, src, s0), x1 = FloatVector.fromArray(SP, src, s0 + ss),
                        x2 = FloatVector.fromArray(SP, src, s0 + 2 * ss), e = x0.add(x2);
                if (m == 2) {
                    x0.intoArray(dst, d0);
                    e.add(x1).mul(0.5f).intoArray(dst, d0 + ds);
                    e.sub(x1).mul(0.5f).intoArray(dst, d0 + 2 * ds);
                    x2.intoArray(dst, d0 + 3 * ds);
                } else {
                    FloatVector h = x0.fma(FloatVector.broadcast(SP, 1 / 24f), x2.mul(1 / 6f));  // x0/24 + x2/6
                    x0.mul(0.25f).intoArray(dst, d0);
                    e.add(x1).mul(-1 / 6f).intoArray(dst, d0 + ds);
                    e.sub(x1).mul(-1 / 6f).intoArray(dst, d0 + 2 * ds);
                    x1.fma(FloatVector.broadcast(SP, 1 / 12f), h).intoArray(dst, d0 + 3 * ds);
                    x1.fma(FloatVector.broadcast(SP, -1 / 12f), h).intoArray(dst, d0 + 4 * ds);
                    x2.intoArray(dst, d0 + 5 * ds);
                }
                return;
            }
            float x0 = src[s0], x1 = src[s0 + ss], x2 = src[s0 + 2 * ss], e = x0 + x2;
            if (m == 2) {
                dst[d0] = x0;
                dst[d0 + ds] = (e + x1) * 0.5f;
                dst[d0 + 2 * ds] = (e - x1) * 0.5f;
                dst[d0 + 3 * ds] = x2;
            } else {
                float h = Math.fma(x0, 1 / 24f, x2 * (1 / 6f));
                dst[d0] = x0 * 0.25f;
                dst[d0 + ds] = (e + x1) * (-1 / 6f);
                dst[d0 + 2 * ds] = (e - x1) * (-1 / 6f);
                dst[d0 + 3 * ds] = Math.fma(x1, 1 / 12f, h);
                dst[d0 + 4 * ds] = Math.fma(x1, -1 / 12f, h);
                dst[d0 + 5 * ds] = x2;
            }
        }

        // ---- input transform ----

        /** V[xi][c][j] = (B^T d B)[xi] for the tiles j of block [g0, g0 + nt) of input channel c. */
        private void inputTransform(Scratch s, float[] v, int g0, int nt, int c) {
            float[] d = s.d, t = s.t;
            gather(s, g0, nt, c);
            int ldv = ci * tb, ldd = tb + vl;     // V's stride between xi, d's between positions
            if (simd) {
                int step = a * vl;
                for (int j = 0; j < nt; j += vl) {
                    for (int i = 0; i < a; i++) inputRow(d, i * a * ldd + j, ldd, t, i * step, vl);
                    for (int l = 0; l < a; l++) inputRow(t, l * vl, step, v, l * ldv + c * tb + j, a * ldv);
                }
            } else {
                for (int j = 0; j < nt; j++) {
                    for (int i = 0; i < a; i++) inputRowScalar(d, i * a * ldd + j, ldd, t, i * a, 1);
                    for (int l = 0; l < a; l++) inputRowScalar(t, l, a, v, l * ldv + c * tb + j, a * ldv);
                }
            }
        }

        /**
         * d[(i * a + q) * (tb + vl) + j] = in(c, iy0 + i, ix0 + q) of tile j, zero outside the input: the alpha x
         * alpha input window of every tile of the block, position-major so that the transform reads vectors of
         * tiles. For each image the block covers, the input rows its tiles read come in with one bulk copy; then,
         * tile row by tile row, each of the a rows is split by column phase (column mod m, zero outside the input):
         * phase ph holds columns ph, ph + m, ph + 2m, ..., so that position q of consecutive tiles is contiguous
         * (phase q mod m from column q / m) and fills d by vector copies.
         */
        private void gather(Scratch s, int g0, int nt, int c) {
            float[] d = s.d, p = s.phases, plane = s.plane;
            int ldd = tb + vl;
            for (int j = 0, g = g0; j < nt; ) {           // one image's part of the block
                int img = g / tilesPerImage, t0 = g % tilesPerImage, run = Math.min(nt - j, tilesPerImage - t0);
                int ty0 = t0 / tW, ty1 = (t0 + run - 1) / tW;
                int r0 = Math.max(0, ty0 * m + rowOff), r1 = Math.min(hi, ty1 * m + rowOff + a);
                if (r0 < r1)
                    MemorySegment.copy(in, F, (((long) img * ci + c) * hi + r0) * wi * 4, plane, 0, (r1 - r0) * wi);
                for (int ty = ty0, t = t0; ty <= ty1; ty++) {
                    int tx0 = t % tW, len = Math.min(t0 + run - t, tW - tx0);
                    for (int i = 0, iy = ty * m + rowOff; i < a; i++, iy++) {
                        boolean inside = iy >= r0 && iy < r1;
                        int src = (iy - r0) * wi + colOff;
                        for (int ph = 0, at = i * m * pw; ph < m; ph++, at += pw) {
                            int lo = inside ? tLo[ph] : pw, hiT = inside ? tHi[ph] : pw;
                            for (int k = 0; k < lo; k++) p[at + k] = 0f;
                            for (int k = lo, col = src + lo * m + ph; k < hiT; k++, col += m) p[at + k] = plane[col];
                            for (int k = hiT; k < pw; k++) p[at + k] = 0f;
                        }
                    }
                    for (int i = 0; i < a; i++)
                        for (int q = 0; q < a; q++)
                            copy(p, (i * m + q % m) * pw + tx0 + q / m, d, (i * a + q) * ldd + j + t - t0, len);
                    t += len;
                }
                j += run;
                g += run;
            }
        }

        /**
         * n floats from src[from...] to dst[to...], in whole vectors: up to vl - 1 more are read and written (the
         * buffers have room; what lands past n is overwritten by the next segment or never read). System.arraycopy
         * costs more than the copy itself for the short runs here (a tile row of a 56x56 map is 14 tiles).
         */
        private void copy(float[] src, int from, float[] dst, int to, int n) {
            if (!simd) {
                for (int k = 0; k < n; k++) dst[to + k] = src[from + k];
                return;
            }
            for (int k = 0; k < n; k += SP.length()) FloatVector.fromArray(SP, src, from + k).intoArray(dst, to + k);
        }

        /** The 1-D input transform B^T x of the a vectors at src[s0 + k * ss] into dst[d0 + k * ds]. */
        private void inputRow(float[] src, int s0, int ss, float[] dst, int d0, int ds) {
            if (m == 2) inputRow2(src, s0, ss, dst, d0, ds);
            else inputRow4(src, s0, ss, dst, d0, ds);
        }

        private static void inputRow2(float[] src, int s0, int ss, float[] dst, int d0, int ds) {
            FloatVector x0 = FloatVector.fromArray(SP, src, s0), x1 = FloatVector.fromArray(SP, src, s0 + ss),
                    x2 = FloatVector.fromArray(SP, src, s0 + 2 * ss), x3 = FloatVector.fromArray(SP, src, s0 + 3 * ss);
            x0.sub(x2).intoArray(dst, d0);
            x1.add(x2).intoArray(dst, d0 + ds);
            x2.sub(x1).intoArray(dst, d0 + 2 * ds);
            x1.sub(x3).intoArray(dst, d0 + 3 * ds);
        }

        private static void inputRow4(float[] src, int s0, int ss, float[] dst, int d0, int ds) {
            FloatVector x0 = FloatVector.fromArray(SP, src, s0), x1 = FloatVector.fromArray(SP, src, s0 + ss),
                    x2 = FloatVector.fromArray(SP, src, s0 + 2 * ss), x3 = FloatVector.fromArray(SP, src, s0 + 3 * ss),
                    x4 = FloatVector.fromArray(SP, src, s0 + 4 * ss), x5 = FloatVector.fromArray(SP, src, s0 + 5 * ss);
            FloatVector four = FloatVector.broadcast(SP, 4f), minus4 = FloatVector.broadcast(SP, -4f),
                    minus5 = FloatVector.broadcast(SP, -5f);
            FloatVector p = x2.fma(minus4, x4), q = x1.fma(minus4, x3);   // x4 - 4 x2, x3 - 4 x1
            FloatVector r = x4.sub(x2), s = x3.sub(x1).mul(2f);          // x4 - x2, 2 (x3 - x1)
            x0.fma(four, x2.fma(minus5, x4)).intoArray(dst, d0);          // 4 x0 - 5 x2 + x4
            p.add(q).intoArray(dst, d0 + ds);                            // -4 x1 - 4 x2 + x3 + x4
            p.sub(q).intoArray(dst, d0 + 2 * ds);                        // 4 x1 - 4 x2 - x3 + x4
            r.add(s).intoArray(dst, d0 + 3 * ds);                        // -2 x1 - x2 + 2 x3 + x4
            r.sub(s).intoArray(dst, d0 + 4 * ds);                        // 2 x1 - x2 - 2 x3 + x4
            x1.fma(four, x3.fma(minus5, x5)).intoArray(dst, d0 + 5 * ds); // 4 x1 - 5 x3 + x5
        }

        /** {@link #inputRow} for one lane, with the same arithmetic. */
        private void inputRowScalar(float[] src, int s0, int ss, float[] dst, int d0, int ds) {
            if (m == 2) {
                float x0 = src[s0], x1 = src[s0 + ss], x2 = src[s0 + 2 * ss], x3 = src[s0 + 3 * ss];
                dst[d0] = x0 - x2;
                dst[d0 + ds] = x1 + x2;
                dst[d0 + 2 * ds] = x2 - x1;
                dst[d0 + 3 * ds] = x1 - x3;
            } else {
                float x0 = src[s0], x1 = src[s0 + ss], x2 = src[s0 + 2 * ss], x3 = src[s0 + 3 * ss],
                        x4 = src[s0 + 4 * ss], x5 = src[s0 + 5 * ss];
                float p = Math.fma(x2, -4f, x4), q = Math.fma(x1, -4f, x3);
                float r = x4 - x2, s = (x3 - x1) * 2f;
                dst[d0] = Math.fma(x0, 4f, Math.fma(x2, -5f, x4));
                dst[d0 + ds] = p + q;
                dst[d0 + 2 * ds] = p - q;
                dst[d0 + 3 * ds] = r + s;
                dst[d0 + 4 * ds] = r - s;
                dst[d0 + 5 * ds] = Math.fma(x1, 4f, Math.fma(x3, -5f, x5));
            }
        }

        // ---- output transform ----

        /**
         * Y = A^T M A for output channel o of the tiles of block [g0, g0 + nt) into y[(r * m + q) * tb + j]; then,
         * for each image the block covers, its output rows are assembled in a buffer, the epilogue applied there,
         * and copied out: whole rows in one copy, the partial rows at the block's ends (another block writes their
         * other columns) row by row.
         */
        private void outputTransform(Scratch s, float[] mm, int g0, int nt, int o) {
            float[] t = s.t, y = s.y, buf = s.outRows;
            int ldm = co * tb;                    // M's stride between xi
            for (int j = 0; j < nt; j += vl) {
                if (simd) {
                    for (int l = 0; l < a; l++) outputRow(mm, l * ldm + o * tb + j, a * ldm, t, l * vl, a * vl);
                    for (int r = 0; r < m; r++) outputRow(t, r * a * vl, vl, y, r * m * tb + j, tb);
                } else {
                    for (int l = 0; l < a; l++) outputRowScalar(mm, l * ldm + o * tb + j, a * ldm, t, l, a);
                    for (int r = 0; r < m; r++) outputRowScalar(t, r * a, 1, y, r * m * tb + j, tb);
                }
            }
            for (int j = 0, g = g0; j < nt; ) {           // one image's part of the block
                int img = g / tilesPerImage, t0 = g % tilesPerImage, run = Math.min(nt - j, tilesPerImage - t0);
                int ty0 = t0 / tW, ty1 = (t0 + run - 1) / tW;
                int row0 = ty0 * m, row1 = Math.min(ho, (ty1 + 1) * m);
                for (int k = 0; k < run; k++) {
                    int tt = t0 + k, oy0 = (tt / tW) * m - row0, ox0 = (tt % tW) * m, from = j + k;
                    int rows = Math.min(m, ho - row0 - oy0), cols = Math.min(m, wo - ox0);
                    for (int r = 0; r < rows; r++)
                        for (int q = 0, at = (oy0 + r) * wo + ox0; q < cols; q++)
                            buf[at + q] = y[(r * m + q) * tb + from];
                }
                if (epilogue != null) epilogue.apply(s.outRowsSeg, 0, o, (row1 - row0) * wo);
                long plane = ((long) img * co + o) * ho * wo;
                int end = t0 + run, whole = -1;           // whole: first row of a run of complete tile rows
                for (int ty = ty0; ty <= ty1; ty++) {
                    int txA = ty == ty0 ? t0 % tW : 0, txB = ty == ty1 ? end - ty1 * tW : tW;
                    int ra = ty * m, rb = Math.min(ho, ra + m);
                    if (txA == 0 && txB == tW) {
                        if (whole < 0) whole = ra;
                        continue;
                    }
                    if (whole >= 0) copyOut(buf, row0, whole, ra, plane);
                    whole = -1;
                    int c0 = txA * m, c1 = Math.min(wo, txB * m);
                    for (int r = ra; r < rb; r++) {
                        long at = plane + (long) r * wo + c0;
                        MemorySegment.copy(buf, (r - row0) * wo + c0, out, F, at * 4, c1 - c0);
                    }
                }
                if (whole >= 0) copyOut(buf, row0, whole, row1, plane);
                j += run;
                g += run;
            }
        }

        /** Output rows [from, to) from the buffer (whose first row is output row {@code row0}), in one copy. */
        private void copyOut(float[] buf, int row0, int from, int to, long plane) {
            MemorySegment.copy(buf, (from - row0) * wo, out, F, (plane + (long) from * wo) * 4, (to - from) * wo);
        }

        /** The 1-D output transform A^T x of the a vectors at src[s0 + k * ss] into m vectors at dst[d0 + k * ds]. */
        private void outputRow(float[] src, int s0, int ss, float[] dst, int d0, int ds) {
            if (m == 2) outputRow2(src, s0, ss, dst, d0, ds);
            else outputRow4(src, s0, ss, dst, d0, ds);
        }

        private static void outputRow2(float[] src, int s0, int ss, float[] dst, int d0, int ds) {
            FloatVector x0 = FloatVector.fromArray(SP, src, s0), x1 = FloatVector.fromArray(SP, src, s0 + ss),
                    x2 = FloatVector.fromArray(SP, src, s0 + 2 * ss), x3 = FloatVector.fromArray(SP, src, s0 + 3 * ss);
            x0.add(x1).add(x2).intoArray(dst, d0);
            x1.sub(x2).sub(x3).intoArray(dst, d0 + ds);
        }

        private static void outputRow4(float[] src, int s0, int ss, float[] dst, int d0, int ds) {
            FloatVector x0 = FloatVector.fromArray(SP, src, s0), x1 = FloatVector.fromArray(SP, src, s0 + ss),
                    x2 = FloatVector.fromArray(SP, src, s0 + 2 * ss), x3 = FloatVector.fromArray(SP, src, s0 + 3 * ss),
                    x4 = FloatVector.fromArray(SP, src, s0 + 4 * ss), x5 = FloatVector.fromArray(SP, src, s0 + 5 * ss);
            FloatVector p = x1.add(x2), q = x1.sub(x2), r = x3.add(x4), s = x3.sub(x4);
            x0.add(p).add(r).intoArray(dst, d0);                                        // x0 + ... + x4
            s.fma(FloatVector.broadcast(SP, 2f), q).intoArray(dst, d0 + ds);            // x1 - x2 + 2 (x3 - x4)
            r.fma(FloatVector.broadcast(SP, 4f), p).intoArray(dst, d0 + 2 * ds);        // x1 + x2 + 4 (x3 + x4)
            s.fma(FloatVector.broadcast(SP, 8f), q.add(x5)).intoArray(dst, d0 + 3 * ds); // x1 - x2 + 8 (x3 - x4) + x5
        }

        /** {@link #outputRow} for one lane, with the same arithmetic. */
        private void outputRowScalar(float[] src, int s0, int ss, float[] dst, int d0, int ds) {
            if (m == 2) {
                float x0 = src[s0], x1 = src[s0 + ss], x2 = src[s0 + 2 * ss], x3 = src[s0 + 3 * ss];
                dst[d0] = x0 + x1 + x2;
                dst[d0 + ds] = x1 - x2 - x3;
            } else {
                float x0 = src[s0], x1 = src[s0 + ss], x2 = src[s0 + 2 * ss], x3 = src[s0 + 3 * ss],
                        x4 = src[s0 + 4 * ss], x5 = src[s0 + 5 * ss];
                float p = x1 + x2, q = x1 - x2, r = x3 + x4, s = x3 - x4;
                dst[d0] = x0 + p + r;
                dst[d0 + ds] = Math.fma(s, 2f, q);
                dst[d0 + 2 * ds] = Math.fma(r, 4f, p);
                dst[d0 + 3 * ds] = Math.fma(s, 8f, q + x5);
            }
        }

        private static int roundUp(int x, int k) { return Math.ceilDiv(x, k) * k; }

        private static int lcm(int p, int q) {
            int x = p, y = q;
            while (y != 0) { int r = x % y; x = y; y = r; }
            return p / x * q;
        }
    }
}
