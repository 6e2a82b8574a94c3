package dev.stride.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * Single-precision GEMM, {@code C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C}, row-major, on float data in
 * {@link MemorySegment}s addressed by element offsets and leading dimensions (so the engine's off-heap buffers and
 * {@code MemorySegment.ofArray(float[])} both serve, without copies).
 *
 * <p>The design is BLIS/GotoBLAS's. The K x N operand is packed, KC rows by NC columns at a time, into NR-wide
 * panels; the M x K operand is packed, MC rows by KC at a time, into MR-tall panels (the MC x KC block stays in
 * L2). A register-blocked micro-kernel multiplies one MR x KC panel by one KC x NR panel into MR x NR
 * accumulators and adds them into C. Packing pads panels with zeros, so the micro-kernel never reads out of
 * bounds and never branches on an edge: an edge tile is computed whole into a scratch tile, and only its valid
 * part is merged into C, in scalar code.
 *
 * <p>Micro-kernels, by species: {@code 4x16} at 256 bits (AVX2, the one measured here), {@code 4x8} at 128 bits,
 * {@code 6x32} at 512 bits (AVX-512, not measured yet), and a scalar {@code 4x4} for {@code stride.cpu.simd=false}.
 * Why 4 rows and not BLIS's 6, and why KC = 1024 and not a B panel sized for L1, is written at the kernels: both
 * were decided by measurement on this machine (AMD EPYC Zen 3, 2 cores, AVX2). bench/README.md has the numbers.
 *
 * <p>Weights can be packed once ({@link #packA}, {@link #packB}) and reused for every call: {@link PackedA} is the
 * filter of an im2col convolution ({@code M = out channels}), {@link PackedB} the weight of a dense layer.
 *
 * <p>An instance owns its packing scratch: use it from one caller thread at a time (it may use a pool's threads
 * inside a call). Packed operands are immutable and may be shared by instances of the same {@link #describe()
 * geometry}.
 */
public final class Sgemm {
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /**
     * Below this many floating-point operations per thread a call is not split. Handing work to a parked pool
     * thread costs its wake-up (14 us median here, 20 us round trip) and a cache-cold start. Measured on square
     * problems, 2 threads against 1: 0.5 MFLOP 0.4x, 1.8 MFLOP 0.75x, 4.2 MFLOP 0.9-1.1x, 8.2 MFLOP 0.85-1.26x,
     * 14 MFLOP 0.95-1.4x, 34 MFLOP 1.5-1.6x (ranges over two runs on this shared machine). 8 MFLOP per share
     * keeps every split on the winning side.
     */
    static final long MIN_FLOP_PER_THREAD = 8_000_000;

    private final MicroKernel kernel;
    private final int mr, nr, kc, mc, nc;
    private final boolean simd; // false for the scalar kernel: no Vector API anywhere, packing included
    private final long minFlopPerThread;
    private Scratch[] scratch = new Scratch[0];

    private Sgemm(MicroKernel kernel) {
        this(kernel, kernel.kc, kernel.mc, kernel.nc, MIN_FLOP_PER_THREAD);
    }

    private Sgemm(MicroKernel kernel, int kc, int mc, int nc, long minFlopPerThread) {
        if (kc < 1 || mc < 1 || nc < 1 || mc % kernel.mr != 0 || nc % kernel.nr != 0)
            throw new IllegalArgumentException("blocking KC=" + kc + " MC=" + mc + " NC=" + nc + " must be positive,"
                    + " MC a multiple of MR=" + kernel.mr + ", NC a multiple of NR=" + kernel.nr);
        this.kernel = kernel;
        this.mr = kernel.mr;
        this.nr = kernel.nr;
        this.kc = kc;
        this.mc = mc;
        this.nc = nc;
        this.minFlopPerThread = minFlopPerThread;
        this.simd = !(kernel instanceof ScalarKernel4x4);
    }

    /** The same micro-kernel with other cache blocking and split threshold: for tests and tuning. */
    Sgemm withBlocking(int kc, int mc, int nc, long minFlopPerThread) {
        return new Sgemm(kernel, kc, mc, nc, minFlopPerThread);
    }

    /** The kernel {@link VectorConfig} selects: the configured species, or scalar with {@code stride.cpu.simd=false}. */
    public static Sgemm create() {
        return VectorConfig.SIMD ? of(VectorConfig.SPECIES) : scalar();
    }

    /**
     * The SIMD kernel for {@code species}.
     *
     * @throws IllegalArgumentException if the species is wider than the machine's preferred one
     */
    public static Sgemm of(VectorSpecies<Float> species) {
        VectorConfig.species(species.vectorBitSize()); // rejects widths without hardware, with the reason
        return new Sgemm(switch (species.vectorBitSize()) {
            case 128 -> new Simd128Kernel4x8();
            case 256 -> new Simd256Kernel4x16();
            case 512 -> new Simd512Kernel6x32();
            default -> throw new IllegalArgumentException("no GEMM micro-kernel for " + species);
        });
    }

    /** The plain scalar kernel (same blocking and packing, scalar arithmetic). */
    public static Sgemm scalar() {
        return new Sgemm(new ScalarKernel4x4());
    }

    /** E.g. "sgemm SIMD 256-bit 4x16, KC=1024 MC=64 NC=2048": what a plan or a benchmark report records. */
    public String describe() {
        return "sgemm " + kernel.name + " " + mr + "x" + nr + ", KC=" + kc + " MC=" + mc + " NC=" + nc;
    }

    /** Rows of the micro-kernel's register tile. */
    public int mr() { return mr; }

    /** Columns of the micro-kernel's register tile. */
    public int nr() { return nr; }

    // ---------------------------------------------------------------------------------------------------------
    // Operands

    /** The M x K left operand: a matrix in memory or one packed ahead of time. */
    public sealed interface OperandA permits Matrix, PackedA {}

    /** The K x N right operand: a matrix in memory or one packed ahead of time. */
    public sealed interface OperandB permits Matrix, PackedB {}

    /**
     * A row-major float matrix in a segment: element (r, c) of the stored matrix is at float index
     * {@code offset + r * ld + c}. {@code transposed} means the operand is the transpose of what is stored
     * (op(X) = X^T), as BLAS's trans flags.
     */
    public record Matrix(MemorySegment data, long offset, int ld, boolean transposed) implements OperandA, OperandB {
        public static Matrix of(MemorySegment data, long offset, int ld) { return new Matrix(data, offset, ld, false); }

        public static Matrix transposed(MemorySegment data, long offset, int ld) {
            return new Matrix(data, offset, ld, true);
        }

        /** op(this) is rows x cols: checks the leading dimension and that the segment holds every element. */
        void check(String name, int rows, int cols) {
            int storedRows = transposed ? cols : rows, storedCols = transposed ? rows : cols;
            if (ld < Math.max(1, storedCols))
                throw new IllegalArgumentException(name + ": leading dimension " + ld + " < stored row width "
                        + storedCols + (transposed ? " (transposed: stored as " + storedRows + "x" + storedCols + ")" : ""));
            if (offset < 0) throw new IllegalArgumentException(name + ": negative offset " + offset);
            if (storedRows == 0 || storedCols == 0) return;
            long last = offset + (long) (storedRows - 1) * ld + storedCols; // one past the last element read
            if (last * Float.BYTES > data.byteSize())
                throw new IllegalArgumentException(name + ": " + storedRows + "x" + storedCols + " floats at offset "
                        + offset + " with leading dimension " + ld + " need " + last * Float.BYTES
                        + " bytes, segment has " + data.byteSize());
        }
    }

    /**
     * op(A) packed into MR-tall panels, K block by K block ({@link #kcFor}): the panel of rows [i, i+MR) and K
     * block [p, p+kc) starts at {@code p * paddedM + (i / MR) * kc * MR} and holds kc columns of MR floats (zero
     * past M).
     */
    public static final class PackedA implements OperandA {
        final float[] data;
        final int m, k, mr, kc;
        final String geometry;

        private PackedA(float[] data, int m, int k, int mr, int kc, String geometry) {
            this.data = data; this.m = m; this.k = k; this.mr = mr; this.kc = kc; this.geometry = geometry;
        }

        public int rows() { return m; }

        public int cols() { return k; }

        int at(int p, int i, int kcb) { return (int) ((long) p * roundUp(m, mr) + (long) (i / mr) * kcb * mr); }
    }

    /**
     * op(B) packed into NR-wide panels, K block by K block ({@link #kcFor}): the panel of columns [j, j+NR) and
     * K block [p, p+kc) starts at {@code p * paddedN + (j / NR) * kc * NR} and holds kc rows of NR floats (zero
     * past N).
     */
    public static final class PackedB implements OperandB {
        final float[] data;
        final int k, n, nr, kc;
        final String geometry;

        private PackedB(float[] data, int k, int n, int nr, int kc, String geometry) {
            this.data = data; this.k = k; this.n = n; this.nr = nr; this.kc = kc; this.geometry = geometry;
        }

        public int rows() { return k; }

        public int cols() { return n; }

        int at(int p, int j, int kcb) { return (int) ((long) p * roundUp(n, nr) + (long) (j / nr) * kcb * nr); }
    }

    /** Packs op(A), m x k, once, for every later call with this geometry. */
    public PackedA packA(Matrix a, int m, int k) {
        checkDims(m, k, 1);
        a.check("A", m, k);
        long size = (long) roundUp(m, mr) * k;
        if (size > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("A too large to pack: " + m + "x" + k);
        float[] data = new float[(int) size];
        int kStep = kcFor(k);
        for (int p = 0; p < k; p += kStep) {
            int kcb = Math.min(kStep, k - p);
            packA(a, 0, m, p, kcb, m, data, (int) ((long) p * roundUp(m, mr)));
        }
        return new PackedA(data, m, k, mr, kc, describe());
    }

    /**
     * Packs op(A) again into the storage of {@code into}, which this geometry packed from an operand of the same
     * size: a weight written by every training step is re-packed without allocating. Callers must not re-pack
     * while a multiplication reads {@code into}.
     */
    public void repackA(Matrix a, PackedA into) {
        if (into.mr != mr || into.kc != kc)
            throw new IllegalArgumentException("A was packed for '" + into.geometry + "', this is '" + describe() + "'");
        a.check("A", into.m, into.k);
        int kStep = kcFor(into.k);
        for (int p = 0; p < into.k; p += kStep) {
            int kcb = Math.min(kStep, into.k - p);
            packA(a, 0, into.m, p, kcb, into.m, into.data, (int) ((long) p * roundUp(into.m, mr)));
        }
    }

    /**
     * Zeroed storage for a packed k x n right operand that the caller writes itself, in the layout {@link PackedB}
     * describes, K blocks of {@link #kcFor}(k) rows: an im2col convolution writes its column tiles straight into
     * it, one copy instead of a copy and a pack.
     */
    PackedB emptyB(int k, int n) {
        checkDims(1, n, k);
        long size = (long) roundUp(n, nr) * k;
        if (size > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("B too large to pack: " + k + "x" + n);
        return new PackedB(new float[(int) size], k, n, nr, kc, describe());
    }

    /** Packs op(B), k x n, once, for every later call with this geometry. */
    public PackedB packB(Matrix b, int k, int n) {
        checkDims(1, n, k);
        b.check("B", k, n);
        long size = (long) roundUp(n, nr) * k;
        if (size > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("B too large to pack: " + k + "x" + n);
        float[] data = new float[(int) size];
        int kStep = kcFor(k);
        for (int p = 0; p < k; p += kStep) {
            int kcb = Math.min(kStep, k - p);
            packB(b, p, kcb, 0, n, n, data, (int) ((long) p * roundUp(n, nr)));
        }
        return new PackedB(data, k, n, nr, kc, describe());
    }

    // ---------------------------------------------------------------------------------------------------------
    // Entry points

    /** BLAS-style {@code sgemm} on one thread: C = alpha op(A) op(B) + beta C. Offsets and ld count floats. */
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
                     MemorySegment a, long aOffset, int lda, MemorySegment b, long bOffset, int ldb,
                     float beta, MemorySegment c, long cOffset, int ldc) {
        multiply(m, n, k, alpha, new Matrix(a, aOffset, lda, transA), new Matrix(b, bOffset, ldb, transB),
                beta, c, cOffset, ldc, null, 1);
    }

    /** C = alpha op(A) op(B) + beta C on the caller's thread. */
    public void multiply(int m, int n, int k, float alpha, OperandA a, OperandB b,
                         float beta, MemorySegment c, long cOffset, int ldc) {
        multiply(m, n, k, alpha, a, b, beta, c, cOffset, ldc, null, 1);
    }

    /**
     * C = alpha op(A) op(B) + beta C, on up to {@code threads} threads: the caller's and {@code threads - 1} tasks
     * on {@code pool} (which must have that many free workers; the segments must be readable from them, so not
     * from a confined arena). A call is split only where each share gets at
     * least {@link #MIN_FLOP_PER_THREAD} floating-point operations. The result is bit-identical for every thread
     * count: each C element is accumulated by one thread, in the same order. As in BLAS, with beta = 0 C is only
     * written, never read (NaN there is ignored), and with alpha = 0 or K = 0 neither A nor B is read.
     */
    public void multiply(int m, int n, int k, float alpha, OperandA a, OperandB b, float beta,
                         MemorySegment c, long cOffset, int ldc, ExecutorService pool, int threads) {
        checkDims(m, n, k);
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        if (threads > 1 && pool == null) throw new IllegalArgumentException(threads + " threads need a pool");
        checkOperandA(a, m, k);
        checkOperandB(b, k, n);
        new Matrix(c, cOffset, ldc, false).check("C", m, n);
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0f) {
            scaleC(m, n, beta, c, cOffset, ldc);
            return;
        }

        // Split the dimension whose other operand is already packed (no duplicate packing), else the longer one,
        // unless it has fewer micro-tiles than threads and the other more (a batch-1 dense layer: M = 1). Shares
        // are whole micro-tiles, so that they start on packed-panel boundaries.
        boolean splitN = b instanceof PackedB ? a instanceof PackedA && n >= m : a instanceof PackedA || n >= m;
        int tilesM = ceilDiv(m, mr), tilesN = ceilDiv(n, nr);
        if ((splitN ? tilesN : tilesM) < threads && (splitN ? tilesM : tilesN) > (splitN ? tilesN : tilesM))
            splitN = !splitN;
        int tiles = splitN ? tilesN : tilesM;
        int parts = parts(m, n, k, threads, tiles);
        ensureScratch(parts, m, n, k);
        if (parts == 1) {
            compute(alpha, a, b, beta, c, cOffset, ldc, 0, m, 0, n, k, scratch[0]);
            return;
        }
        List<Future<?>> futures = new ArrayList<>(parts - 1);
        for (int t = 1; t < parts; t++) {
            int t0 = (int) ((long) tiles * t / parts), t1 = (int) ((long) tiles * (t + 1) / parts);
            Scratch s = scratch[t];
            futures.add(pool.submit(splitN
                    ? () -> compute(alpha, a, b, beta, c, cOffset, ldc, 0, m, t0 * nr, Math.min(n, t1 * nr), k, s)
                    : () -> compute(alpha, a, b, beta, c, cOffset, ldc, t0 * mr, Math.min(m, t1 * mr), 0, n, k, s)));
        }
        int t1 = tiles / parts;
        Throwable failure = null;
        try {
            if (splitN) compute(alpha, a, b, beta, c, cOffset, ldc, 0, m, 0, Math.min(n, t1 * nr), k, scratch[0]);
            else compute(alpha, a, b, beta, c, cOffset, ldc, 0, Math.min(m, t1 * mr), 0, n, k, scratch[0]);
        } catch (RuntimeException | Error e) {
            failure = e;
        }
        // Wait for every share even when this one failed: no task may outlive the call and its scratch.
        failure = await(futures, failure);
        if (failure instanceof RuntimeException r) throw r;
        if (failure instanceof Error e) throw e;
        if (failure != null) throw new IllegalStateException("GEMM share failed", failure);
    }

    /** How many threads a call uses: no more than asked, than tiles to share, or than the work pays for. */
    int parts(int m, int n, int k, int threads, int tiles) {
        long flop = 2L * m * n * k;
        return (int) Math.max(1, Math.min(Math.min(threads, tiles), flop / Math.max(1, minFlopPerThread)));
    }

    // ---------------------------------------------------------------------------------------------------------
    // The blocked loops

    /** Rows [i0, i1) x columns [j0, j1) of C; i0 and j0 are multiples of MR and NR. */
    private void compute(float alpha, OperandA a, OperandB b, float beta, MemorySegment c, long cOffset, int ldc,
                         int i0, int i1, int j0, int j1, int k, Scratch s) {
        long ldcBytes = (long) ldc * Float.BYTES;
        int ncStep = ncFor(a, b, k), kStep = kcFor(k);
        for (int jc = j0; jc < j1; jc += ncStep) {
            int ncb = Math.min(ncStep, j1 - jc);
            for (int pc = 0; pc < k; pc += kStep) {
                int kcb = Math.min(kStep, k - pc);
                float betaP = pc == 0 ? beta : 1f; // later K blocks accumulate onto the first one's result
                float[] bData;
                int bAt;
                if (b instanceof PackedB pb) {
                    bData = pb.data;
                    bAt = pb.at(pc, jc, kcb);
                } else {
                    packB((Matrix) b, pc, kcb, jc, ncb, j1, s.b, 0);
                    bData = s.b;
                    bAt = 0;
                }
                for (int ic = i0; ic < i1; ic += mc) {
                    int mcb = Math.min(mc, i1 - ic);
                    float[] aData;
                    int aAt;
                    if (a instanceof PackedA pa) {
                        aData = pa.data;
                        aAt = pa.at(pc, ic, kcb);
                    } else {
                        packA((Matrix) a, ic, mcb, pc, kcb, i1, s.a, 0);
                        aData = s.a;
                        aAt = 0;
                    }
                    for (int jr = 0; jr < ncb; jr += nr) {
                        int nrb = Math.min(nr, ncb - jr);
                        int bPanel = bAt + jr * kcb; // (jr / nr) * kcb * nr
                        for (int ir = 0; ir < mcb; ir += mr) {
                            int mrb = Math.min(mr, mcb - ir);
                            int aPanel = aAt + ir * kcb;
                            long cAt = cOffset + (long) (ic + ir) * ldc + jc + jr;
                            if (mrb == mr && nrb == nr) {
                                kernel.multiply(kcb, aData, aPanel, bData, bPanel, c, cAt * Float.BYTES, ldcBytes,
                                        alpha, betaP);
                            } else {
                                kernel.multiply(kcb, aData, aPanel, bData, bPanel, s.tile);
                                mergeTile(s.tile, mrb, nrb, alpha, betaP, c, cAt, ldc);
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * The K block size: K in equal blocks of at most KC, so that no block is a short tail (K = 1152 with KC = 1024
     * is 2 x 576, not 1024 + 128: each micro-kernel call costs a C update, which a short block amortises badly).
     * Packed operands use the same blocks, a function of K alone.
     */
    int kcFor(int k) {
        return ceilDiv(k, Math.max(1, ceilDiv(k, kc)));
    }

    /**
     * Columns per packed B block. BLIS sizes it for L3 (NC), which suits a raw A: A is packed again for every
     * block. With A packed ahead of time that cost is gone, and a block small enough for L2 spares the round trip
     * of packed B through memory: for the im2col GEMM of a 56x56 convolution (M = 64, K = 576, N = 3136), whose
     * packing took a third of the time with 4.6 MiB blocks, L2-sized blocks gave 67 GFLOP/s instead of 64.
     */
    private int ncFor(OperandA a, OperandB b, int k) {
        if (!(a instanceof PackedA) || b instanceof PackedB) return nc;
        int fit = L2_BLOCK_BYTES / (Float.BYTES * Math.max(1, kcFor(k)));
        return Math.min(nc, Math.max(nr, fit / nr * nr));
    }

    /**
     * Bytes of a packed B block when A was packed ahead of time: this machine's L2 (512 KiB, Zen 3). Half of it
     * was no better for layer1 and worse in one run for layer3 (M = 256), whose 2.4 MB filter is streamed from L3
     * once per block: narrower blocks stream it more often.
     */
    private static final int L2_BLOCK_BYTES = 512 * 1024;

    /** The valid mrb x nrb corner of an edge tile into C, with the micro-kernels' arithmetic. */
    private void mergeTile(float[] tile, int mrb, int nrb, float alpha, float beta, MemorySegment c, long cAt, int ldc) {
        for (int i = 0; i < mrb; i++) {
            long row = cAt + (long) i * ldc;
            for (int j = 0; j < nrb; j++) {
                float v = alpha * tile[i * nr + j];
                if (beta != 0f) v = Math.fma(beta, c.getAtIndex(F, row + j), v);
                c.setAtIndex(F, row + j, v);
            }
        }
    }

    /** Rows [i, i+mcb) and K block [p, p+kcb) of op(A) into MR-tall panels, zero past row {@code iEnd}. */
    private void packA(Matrix a, int i, int mcb, int p, int kcb, int iEnd, float[] dst, int at) {
        // op(A)(i, p) is stored at (i, p), or at (p, i) when transposed
        long rs = a.transposed ? 1 : a.ld, qs = a.transposed ? a.ld : 1;
        pack(a.data, a.offset, rs, qs, i, mcb, iEnd, p, kcb, mr, dst, at);
    }

    /** K block [p, p+kcb) and columns [j, j+ncb) of op(B) into NR-wide panels, zero past column {@code jEnd}. */
    private void packB(Matrix b, int p, int kcb, int j, int ncb, int jEnd, float[] dst, int at) {
        // op(B)(p, j) is stored at (p, j), or at (j, p) when transposed: as op(A), with j in the role of i
        long rs = b.transposed ? b.ld : 1, qs = b.transposed ? 1 : b.ld;
        pack(b.data, b.offset, rs, qs, j, ncb, jEnd, p, kcb, nr, dst, at);
    }

    /**
     * The one packing routine of A and B. X(r, q), stored at float index {@code off + r * rs + q * qs}, rows
     * [r0, r0+rows) by depth [q0, q0+depth), goes to {@code dst[at...]} as panels of w rows: panel t holds, for
     * each q, the w values X(r0 + t*w + 0..w-1, q), zero past row {@code rEnd}. The loops read the source along
     * its contiguous direction.
     */
    private void pack(MemorySegment src, long off, long rs, long qs, int r0, int rows, int rEnd,
                      int q0, int depth, int w, float[] dst, int at) {
        int valid = Math.min(rows, rEnd - r0); // rows with data; the last panel is zero-padded past them
        if (qs == 1) { // X's rows are contiguous in q: each goes to one lane of its panel, with stride w
            for (int r = 0; r < valid; r++) {
                long row = off + (r0 + r) * rs + q0;
                int d = at + (r / w) * w * depth + r % w;
                for (int q = 0; q < depth; q++) dst[d + q * w] = src.getAtIndex(F, row + q);
            }
        } else { // contiguous in r: stored row q holds step q of every panel
            // Panels in groups of PACK_GROUP: a pass over q reads 8 x NR contiguous floats of each stored row.
            // Passes of 2 panels (128 bytes per row, a new page every row) packed B for N = 3136 four times
            // slower; whole rows per pass (writes to every panel's page) were no faster than groups of 8.
            for (int g = 0; g < valid; g += PACK_GROUP * w) {
                int gEnd = Math.min(valid, g + PACK_GROUP * w);
                for (int q = 0; q < depth; q++) {
                    long row = off + r0 + (q0 + q) * qs;
                    for (int t = g; t < gEnd; t += w) copy(src, row + t, dst, at + t * depth + q * w, Math.min(w, gEnd - t));
                }
            }
        }
        if (valid % w != 0) {
            int t = valid - valid % w;
            for (int q = 0; q < depth; q++)
                for (int r = valid % w; r < w; r++) dst[at + t * depth + q * w + r] = 0f;
        }
    }

    private static final int PACK_GROUP = 8;
    private static final VectorSpecies<Float> COPY = FloatVector.SPECIES_PREFERRED;

    /** n floats from float index {@code from} of src to {@code dst[to...]}: vectors, then a scalar tail. */
    private void copy(MemorySegment src, long from, float[] dst, int to, int n) {
        int i = 0;
        if (simd) {
            for (; i + COPY.length() <= n; i += COPY.length())
                FloatVector.fromMemorySegment(COPY, src, (from + i) * Float.BYTES, NATIVE).intoArray(dst, to + i);
        }
        for (; i < n; i++) dst[to + i] = src.getAtIndex(F, from + i);
    }

    private static void scaleC(int m, int n, float beta, MemorySegment c, long cOffset, int ldc) {
        if (beta == 1f) return;
        for (int i = 0; i < m; i++) {
            long row = cOffset + (long) i * ldc;
            for (int j = 0; j < n; j++) c.setAtIndex(F, row + j, beta == 0f ? 0f : beta * c.getAtIndex(F, row + j));
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Checks and scratch

    private static void checkDims(int m, int n, int k) {
        if (m < 0 || n < 0 || k < 0)
            throw new IllegalArgumentException("dimensions must be >= 0, got M=" + m + " N=" + n + " K=" + k);
    }

    private void checkOperandA(OperandA a, int m, int k) {
        switch (a) {
            case Matrix x -> x.check("A", m, k);
            case PackedA p -> {
                if (p.m != m || p.k != k)
                    throw new IllegalArgumentException("packed A is " + p.m + "x" + p.k + ", call needs " + m + "x" + k);
                if (p.mr != mr || p.kc != kc)
                    throw new IllegalArgumentException("A was packed for '" + p.geometry + "', this is '" + describe() + "'");
            }
        }
    }

    private void checkOperandB(OperandB b, int k, int n) {
        switch (b) {
            case Matrix x -> x.check("B", k, n);
            case PackedB p -> {
                if (p.k != k || p.n != n)
                    throw new IllegalArgumentException("packed B is " + p.k + "x" + p.n + ", call needs " + k + "x" + n);
                if (p.nr != nr || p.kc != kc)
                    throw new IllegalArgumentException("B was packed for '" + p.geometry + "', this is '" + describe() + "'");
            }
        }
    }

    /** One thread's packing buffers: an MC x KC block of A, a KC x NC block of B, the micro-kernel's MR x NR tile. */
    private static final class Scratch {
        float[] a = new float[0], b = new float[0];
        final float[] tile;

        Scratch(int mr, int nr) { tile = new float[mr * nr]; }
    }

    /** Grows the scratch to this call's need; steady-state calls allocate nothing here. */
    private void ensureScratch(int parts, int m, int n, int k) {
        if (scratch.length < parts) {
            Scratch[] grown = java.util.Arrays.copyOf(scratch, parts);
            for (int t = scratch.length; t < parts; t++) grown[t] = new Scratch(mr, nr);
            scratch = grown;
        }
        int aSize = Math.min(mc, roundUp(m, mr)) * kcFor(k);
        int bSize = Math.min(nc, roundUp(n, nr)) * kcFor(k);
        for (int t = 0; t < parts; t++) {
            if (scratch[t].a.length < aSize) scratch[t].a = new float[aSize];
            if (scratch[t].b.length < bSize) scratch[t].b = new float[bSize];
        }
    }

    /** Waits for all futures, uninterruptibly; returns the first failure (or {@code failure}), others suppressed. */
    private static Throwable await(List<Future<?>> futures, Throwable failure) {
        boolean interrupted = false;
        for (Future<?> f : futures) {
            while (true) {
                try {
                    f.get();
                    break;
                } catch (ExecutionException e) {
                    if (failure == null) failure = e.getCause();
                    else failure.addSuppressed(e.getCause());
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // finish waiting; the flag is restored below
                }
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        return failure;
    }

    static int roundUp(int x, int multiple) { return ceilDiv(x, multiple) * multiple; }

    static int ceilDiv(int x, int d) { return (x + d - 1) / d; }

    // ---------------------------------------------------------------------------------------------------------
    // Micro-kernels

    /**
     * The register-blocked product of one MR x kc panel of packed A and one kc x NR panel of packed B, and the
     * cache blocking that feeds it: into C for a full tile, into a scratch tile for an edge.
     */
    abstract static sealed class MicroKernel
            permits Simd128Kernel4x8, Simd256Kernel4x16, Simd512Kernel6x32, ScalarKernel4x4 {
        final String name;
        final int mr, nr, kc, mc, nc;

        MicroKernel(String name, int mr, int nr, int kc, int mc, int nc) {
            this.name = name; this.mr = mr; this.nr = nr; this.kc = kc; this.mc = mc; this.nc = nc;
        }

        /** {@code tile[MR x NR]}, row-major, = the A panel at {@code a[ai...]} times the B panel at {@code b[bi...]}. */
        abstract void multiply(int kc, float[] a, int ai, float[] b, int bi, float[] tile);

        /**
         * The MR x NR of C at byte {@code at}, rows {@code ldcBytes} apart, = alpha A panel B panel + beta C (beta
         * = 0: C not read). Separate from the tile version, and C's update in the same method as the loop: as two
         * calls (product to tile, tile to C) the update was compiled on its own first in some runs and then too
         * big to inline, and the whole GEMM ran 10% slower in those JVMs.
         */
        abstract void multiply(int kc, float[] a, int ai, float[] b, int bi,
                               MemorySegment c, long at, long ldcBytes, float alpha, float beta);
    }

    /*
     * The SIMD kernels are one kernel written out per width and row count. The repetition is deliberate: the
     * Vector API compiles to SIMD instructions only where the species is a JIT constant (a static final), and a
     * kernel taking its species from a field would run the API's Java fallback, about 100x slower.
     *
     * Per step of K: two B vectors are loaded, and each of the MR A values is broadcast and multiplied into both.
     * Register budget decides MR. C2 schedules every broadcast of a step before the first FMA, so a step holds
     * 2 MR accumulators + 2 B vectors + MR broadcasts: MR = 4 is the most that fits the 16 registers of AVX2 and
     * SSE (14). With MR = 6 (the classic BLIS 6x16) that is 20, one accumulator was spilled, and the chain through
     * the stack capped the kernel at 45% of peak, against 95% for 4x16, measured in L1 on this machine (Zen 3).
     * 8 accumulators are exactly FMA latency x FMA ports (4 x 2), enough to keep both FMA units busy.
     */

    /**
     * 4 x 16 floats: the AVX2 kernel, 95% of the FMA peak with its panels in L1. KC = 1024, where BLIS would take
     * 256 to keep the 16 KiB B panel in L1: each call ends with a C update whose bounds-checked segment accesses
     * (some 35 instructions per vector in the disassembly) cost roughly 80 cycles, 8% of a 256-deep call, 2% of
     * a 1024-deep one, while the 64 KiB B panel streams from L2 without visible loss. Measured on 1024^3, best of
     * an interleaved run: KC 256 / 512 / 1024 gave 81 / 85 / 88 GFLOP/s. MC = 64: the 256 KiB A block in half of
     * L2. NC = 2048: an 8 MiB B block for L3.
     */
    static final class Simd256Kernel4x16 extends MicroKernel {
        private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
        private static final int L = 8;

        Simd256Kernel4x16() { super("SIMD 256-bit", 4, 16, 1024, 64, 2048); }

        @Override
        void multiply(int kc, float[] a, int ai, float[] b, int bi, float[] t) {
            FloatVector z = FloatVector.zero(S);
            FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;
            FloatVector c30 = z, c31 = z;
            for (int p = 0; p < kc; p++) {
                int bp = bi + p * 2 * L, ap = ai + p * 4;
                FloatVector b0 = FloatVector.fromArray(S, b, bp), b1 = FloatVector.fromArray(S, b, bp + L);
                FloatVector x = FloatVector.broadcast(S, a[ap]);
                c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
                x = FloatVector.broadcast(S, a[ap + 1]);
                c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
                x = FloatVector.broadcast(S, a[ap + 2]);
                c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
                x = FloatVector.broadcast(S, a[ap + 3]);
                c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            }
            c00.intoArray(t, 0); c01.intoArray(t, 1 * L);
            c10.intoArray(t, 2 * L); c11.intoArray(t, 3 * L);
            c20.intoArray(t, 4 * L); c21.intoArray(t, 5 * L);
            c30.intoArray(t, 6 * L); c31.intoArray(t, 7 * L);
        }

        @Override
        void multiply(int kc, float[] a, int ai, float[] b, int bi,
                      MemorySegment c, long at, long ldcBytes, float alpha, float beta) {
            FloatVector z = FloatVector.zero(S);
            FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;
            FloatVector c30 = z, c31 = z;
            for (int p = 0; p < kc; p++) {
                int bp = bi + p * 2 * L, ap = ai + p * 4;
                FloatVector b0 = FloatVector.fromArray(S, b, bp), b1 = FloatVector.fromArray(S, b, bp + L);
                FloatVector x = FloatVector.broadcast(S, a[ap]);
                c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
                x = FloatVector.broadcast(S, a[ap + 1]);
                c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
                x = FloatVector.broadcast(S, a[ap + 2]);
                c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
                x = FloatVector.broadcast(S, a[ap + 3]);
                c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            }
            FloatVector va = FloatVector.broadcast(S, alpha), vb = FloatVector.broadcast(S, beta);
            row(c00, c01, c, at, va, vb, beta);
            row(c10, c11, c, at + 1 * ldcBytes, va, vb, beta);
            row(c20, c21, c, at + 2 * ldcBytes, va, vb, beta);
            row(c30, c31, c, at + 3 * ldcBytes, va, vb, beta);
        }

        private static void row(FloatVector x0, FloatVector x1, MemorySegment c, long at,
                                FloatVector va, FloatVector vb, float beta) {
            long at1 = at + L * Float.BYTES;
            FloatVector y0 = x0.mul(va), y1 = x1.mul(va);
            if (beta != 0f) {
                y0 = FloatVector.fromMemorySegment(S, c, at, NATIVE).fma(vb, y0);
                y1 = FloatVector.fromMemorySegment(S, c, at1, NATIVE).fma(vb, y1);
            }
            y0.intoMemorySegment(c, at, NATIVE);
            y1.intoMemorySegment(c, at1, NATIVE);
        }
    }

    /**
     * 6 x 32 floats: the AVX-512 kernel, 12 accumulators + 2 + 6 broadcasts of 32 zmm registers. Not measured on an
     * AVX-512 machine yet: MR (up to 8 fits), KC and MC there are this machine's choices carried over.
     */
    static final class Simd512Kernel6x32 extends MicroKernel {
        private static final VectorSpecies<Float> S = FloatVector.SPECIES_512;
        private static final int L = 16;

        Simd512Kernel6x32() { super("SIMD 512-bit", 6, 32, 1024, 72, 2048); }

        @Override
        void multiply(int kc, float[] a, int ai, float[] b, int bi, float[] t) {
            FloatVector z = FloatVector.zero(S);
            FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;
            FloatVector c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
            for (int p = 0; p < kc; p++) {
                int bp = bi + p * 2 * L, ap = ai + p * 6;
                FloatVector b0 = FloatVector.fromArray(S, b, bp), b1 = FloatVector.fromArray(S, b, bp + L);
                FloatVector x = FloatVector.broadcast(S, a[ap]);
                c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
                x = FloatVector.broadcast(S, a[ap + 1]);
                c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
                x = FloatVector.broadcast(S, a[ap + 2]);
                c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
                x = FloatVector.broadcast(S, a[ap + 3]);
                c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
                x = FloatVector.broadcast(S, a[ap + 4]);
                c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
                x = FloatVector.broadcast(S, a[ap + 5]);
                c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            }
            c00.intoArray(t, 0); c01.intoArray(t, 1 * L);
            c10.intoArray(t, 2 * L); c11.intoArray(t, 3 * L);
            c20.intoArray(t, 4 * L); c21.intoArray(t, 5 * L);
            c30.intoArray(t, 6 * L); c31.intoArray(t, 7 * L);
            c40.intoArray(t, 8 * L); c41.intoArray(t, 9 * L);
            c50.intoArray(t, 10 * L); c51.intoArray(t, 11 * L);
        }

        @Override
        void multiply(int kc, float[] a, int ai, float[] b, int bi,
                      MemorySegment c, long at, long ldcBytes, float alpha, float beta) {
            FloatVector z = FloatVector.zero(S);
            FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;
            FloatVector c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
            for (int p = 0; p < kc; p++) {
                int bp = bi + p * 2 * L, ap = ai + p * 6;
                FloatVector b0 = FloatVector.fromArray(S, b, bp), b1 = FloatVector.fromArray(S, b, bp + L);
                FloatVector x = FloatVector.broadcast(S, a[ap]);
                c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
                x = FloatVector.broadcast(S, a[ap + 1]);
                c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
                x = FloatVector.broadcast(S, a[ap + 2]);
                c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
                x = FloatVector.broadcast(S, a[ap + 3]);
                c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
                x = FloatVector.broadcast(S, a[ap + 4]);
                c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
                x = FloatVector.broadcast(S, a[ap + 5]);
                c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            }
            FloatVector va = FloatVector.broadcast(S, alpha), vb = FloatVector.broadcast(S, beta);
            row(c00, c01, c, at, va, vb, beta);
            row(c10, c11, c, at + 1 * ldcBytes, va, vb, beta);
            row(c20, c21, c, at + 2 * ldcBytes, va, vb, beta);
            row(c30, c31, c, at + 3 * ldcBytes, va, vb, beta);
            row(c40, c41, c, at + 4 * ldcBytes, va, vb, beta);
            row(c50, c51, c, at + 5 * ldcBytes, va, vb, beta);
        }

        private static void row(FloatVector x0, FloatVector x1, MemorySegment c, long at,
                                FloatVector va, FloatVector vb, float beta) {
            long at1 = at + L * Float.BYTES;
            FloatVector y0 = x0.mul(va), y1 = x1.mul(va);
            if (beta != 0f) {
                y0 = FloatVector.fromMemorySegment(S, c, at, NATIVE).fma(vb, y0);
                y1 = FloatVector.fromMemorySegment(S, c, at1, NATIVE).fma(vb, y1);
            }
            y0.intoMemorySegment(c, at, NATIVE);
            y1.intoMemorySegment(c, at1, NATIVE);
        }
    }

    /** 4 x 8 floats: SSE / NEON width, or a forced 128-bit width for debugging. */
    static final class Simd128Kernel4x8 extends MicroKernel {
        private static final VectorSpecies<Float> S = FloatVector.SPECIES_128;
        private static final int L = 4;

        Simd128Kernel4x8() { super("SIMD 128-bit", 4, 8, 1024, 64, 2048); }

        @Override
        void multiply(int kc, float[] a, int ai, float[] b, int bi, float[] t) {
            FloatVector z = FloatVector.zero(S);
            FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;
            FloatVector c30 = z, c31 = z;
            for (int p = 0; p < kc; p++) {
                int bp = bi + p * 2 * L, ap = ai + p * 4;
                FloatVector b0 = FloatVector.fromArray(S, b, bp), b1 = FloatVector.fromArray(S, b, bp + L);
                FloatVector x = FloatVector.broadcast(S, a[ap]);
                c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
                x = FloatVector.broadcast(S, a[ap + 1]);
                c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
                x = FloatVector.broadcast(S, a[ap + 2]);
                c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
                x = FloatVector.broadcast(S, a[ap + 3]);
                c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            }
            c00.intoArray(t, 0); c01.intoArray(t, 1 * L);
            c10.intoArray(t, 2 * L); c11.intoArray(t, 3 * L);
            c20.intoArray(t, 4 * L); c21.intoArray(t, 5 * L);
            c30.intoArray(t, 6 * L); c31.intoArray(t, 7 * L);
        }

        @Override
        void multiply(int kc, float[] a, int ai, float[] b, int bi,
                      MemorySegment c, long at, long ldcBytes, float alpha, float beta) {
            FloatVector z = FloatVector.zero(S);
            FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;
            FloatVector c30 = z, c31 = z;
            for (int p = 0; p < kc; p++) {
                int bp = bi + p * 2 * L, ap = ai + p * 4;
                FloatVector b0 = FloatVector.fromArray(S, b, bp), b1 = FloatVector.fromArray(S, b, bp + L);
                FloatVector x = FloatVector.broadcast(S, a[ap]);
                c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
                x = FloatVector.broadcast(S, a[ap + 1]);
                c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
                x = FloatVector.broadcast(S, a[ap + 2]);
                c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
                x = FloatVector.broadcast(S, a[ap + 3]);
                c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            }
            FloatVector va = FloatVector.broadcast(S, alpha), vb = FloatVector.broadcast(S, beta);
            row(c00, c01, c, at, va, vb, beta);
            row(c10, c11, c, at + 1 * ldcBytes, va, vb, beta);
            row(c20, c21, c, at + 2 * ldcBytes, va, vb, beta);
            row(c30, c31, c, at + 3 * ldcBytes, va, vb, beta);
        }

        private static void row(FloatVector x0, FloatVector x1, MemorySegment c, long at,
                                FloatVector va, FloatVector vb, float beta) {
            long at1 = at + L * Float.BYTES;
            FloatVector y0 = x0.mul(va), y1 = x1.mul(va);
            if (beta != 0f) {
                y0 = FloatVector.fromMemorySegment(S, c, at, NATIVE).fma(vb, y0);
                y1 = FloatVector.fromMemorySegment(S, c, at1, NATIVE).fma(vb, y1);
            }
            y0.intoMemorySegment(c, at, NATIVE);
            y1.intoMemorySegment(c, at1, NATIVE);
        }
    }

    /** Plain scalar 4 x 4, for {@code stride.cpu.simd=false}: same packing and loops, no Vector API. */
    static final class ScalarKernel4x4 extends MicroKernel {
        ScalarKernel4x4() { super("scalar", 4, 4, 256, 128, 4096); }

        @Override
        void multiply(int kc, float[] a, int ai, float[] b, int bi, float[] t) {
            java.util.Arrays.fill(t, 0f);
            for (int p = 0; p < kc; p++) {
                for (int i = 0; i < 4; i++) {
                    float x = a[ai + p * 4 + i];
                    for (int j = 0; j < 4; j++) t[i * 4 + j] = Math.fma(x, b[bi + p * 4 + j], t[i * 4 + j]);
                }
            }
        }

        @Override
        void multiply(int kc, float[] a, int ai, float[] b, int bi,
                      MemorySegment c, long at, long ldcBytes, float alpha, float beta) {
            float[] t = new float[16];
            multiply(kc, a, ai, b, bi, t);
            for (int i = 0; i < 4; i++) {
                for (int j = 0; j < 4; j++) {
                    long o = at + i * ldcBytes + (long) j * Float.BYTES;
                    float v = alpha * t[i * 4 + j];
                    if (beta != 0f) v = Math.fma(beta, c.get(F, o), v);
                    c.set(F, o, v);
                }
            }
        }
    }
}
