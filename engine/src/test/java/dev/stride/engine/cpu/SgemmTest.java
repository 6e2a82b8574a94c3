package dev.stride.engine.cpu;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Sgemm against a triple loop in double, for every kernel this machine can run (scalar, 128-bit, and each wider
 * width up to the preferred one), every transpose combination, padded leading dimensions, offsets, alpha and beta,
 * packed operands and thread counts.
 */
class SgemmTest {
    /**
     * The one tolerance: |got - exact| <= TOL * sqrt(K) * (|alpha| sum_p |a_ip b_pj| + |beta c_ij|). Float
     * accumulation of K products with FMA is off by at most about K * 2^-24 of the sum of magnitudes (the
     * deterministic bound), typically sqrt(K) * 2^-24. With TOL = 1e-5 the bound is above the worst case for every
     * K here (K * 6e-8 <= 1e-5 * sqrt(K) while K <= 27 000), so no correct kernel fails, yet a wrong index,
     * a lost K block or a missed beta is off by the size of a term and fails at once.
     */
    private static final double TOL = 1e-5;

    /** Daemon workers, never shut down: JUnit's and jqwik's engines would not agree on when the class is done. */
    private static final ExecutorService POOL = Executors.newFixedThreadPool(3, r -> {
        Thread t = new Thread(r, "sgemm-test");
        t.setDaemon(true);
        return t;
    });

    /** Every kernel this machine runs natively; 512 only on AVX-512 machines. */
    static List<Sgemm> kernels() {
        List<Sgemm> all = new ArrayList<>();
        all.add(Sgemm.scalar());
        for (int bits = 128; bits <= VectorConfig.PREFERRED.vectorBitSize(); bits *= 2)
            all.add(Sgemm.of(VectorConfig.species(bits)));
        return all;
    }

    @Provide
    Arbitrary<Sgemm> kernel() { return Arbitraries.of(kernels()); }

    /**
     * 1..150, half the time a size at an edge: 1, primes, multiples of MR (4, 6) and NR (4, 8, 16, 32) +- 1.
     * The properties turn jqwik's own edge cases off: they would use up the tries on combinations of 1 and 150.
     */
    @Provide
    Arbitrary<Integer> dim() {
        return Arbitraries.oneOf(
                Arbitraries.of(1, 2, 3, 5, 7, 11, 13, 17, 31, 37, 97, 127, 149,
                        4, 6, 8, 12, 16, 32, 48, 96, 144, 5, 9, 15, 23, 25, 33, 47, 49, 95, 143, 145, 150),
                Arbitraries.integers().between(1, 150));
    }

    @Provide
    Arbitrary<Float> alpha() { return Arbitraries.of(1f, -0.5f, 2.25f, 0f); }

    @Provide
    Arbitrary<Float> beta() { return Arbitraries.of(0f, 1f, -1.5f, 0.25f); }

    @Property(tries = 150, edgeCases = EdgeCasesMode.NONE)
    void matchesReference(@ForAll("kernel") Sgemm g, @ForAll("dim") int m, @ForAll("dim") int n, @ForAll("dim") int k,
                          @ForAll boolean transA, @ForAll boolean transB,
                          @ForAll("alpha") float alpha, @ForAll("beta") float beta,
                          @ForAll @IntRange(max = 5) int pad, @ForAll boolean offHeap, @ForAll long seed) {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(m, n, k, transA, transB, alpha, beta, pad, new Random(seed), offHeap ? arena : null);
            g.gemm(transA, transB, m, n, k, alpha, p.a, 1, p.lda, p.b, 2, p.ldb, beta, p.c, 3, p.ldc);
            p.check(g.describe());
        }
    }

    /** Tiny cache blocks so that small problems cross every KC, MC and NC boundary, and edge tiles inside blocks. */
    @Property(tries = 80, edgeCases = EdgeCasesMode.NONE)
    void blockBoundariesMatchReference(@ForAll("kernel") Sgemm g, @ForAll("dim") int m, @ForAll("dim") int n,
                                       @ForAll @IntRange(min = 1, max = 300) int k,
                                       @ForAll boolean transA, @ForAll boolean transB,
                                       @ForAll("alpha") float alpha, @ForAll("beta") float beta,
                                       @ForAll @IntRange(min = 1, max = 3) int blocks, @ForAll long seed) {
        Sgemm small = g.withBlocking(5 * blocks + 2, g.mr() * blocks, g.nr() * (blocks + 1), Sgemm.MIN_FLOP_PER_THREAD);
        Problem p = new Problem(m, n, k, transA, transB, alpha, beta, 2, new Random(seed), null);
        small.gemm(transA, transB, m, n, k, alpha, p.a, 1, p.lda, p.b, 2, p.ldb, beta, p.c, 3, p.ldc);
        p.check(small.describe());
    }

    /** Packed once, used for two calls: equal to the unpacked call bit for bit, and to the reference. */
    @Property(tries = 60, edgeCases = EdgeCasesMode.NONE)
    void packedOperandsAreReusable(@ForAll("kernel") Sgemm g, @ForAll("dim") int m, @ForAll("dim") int n,
                                   @ForAll @IntRange(min = 1, max = 300) int k,
                                   @ForAll boolean transA, @ForAll boolean transB, @ForAll boolean packA,
                                   @ForAll boolean packB, @ForAll("beta") float beta, @ForAll long seed) {
        Random rnd = new Random(seed);
        Problem p1 = new Problem(m, n, k, transA, transB, 1.5f, beta, 1, rnd, null);
        Problem p2 = new Problem(m, n, k, transA, transB, 1.5f, beta, 1, rnd, null);
        if (packA) p2.copyA(p1); // a packed operand is shared by the two calls, an unpacked one changes
        if (packB) p2.copyB(p1);
        var a = new Sgemm.Matrix(p1.a, 1, p1.lda, transA);
        Sgemm.OperandA opA = packA ? g.packA(a, m, k) : a;
        var b = new Sgemm.Matrix(p1.b, 2, p1.ldb, transB);
        Sgemm.OperandB opB = packB ? g.packB(b, k, n) : b;
        for (Problem p : List.of(p1, p2)) {
            Problem plain = p.copy();
            Sgemm.OperandA pa = packA ? opA : new Sgemm.Matrix(p.a, 1, p.lda, transA);
            Sgemm.OperandB pb = packB ? opB : new Sgemm.Matrix(p.b, 2, p.ldb, transB);
            g.multiply(m, n, k, 1.5f, pa, pb, beta, p.c, 3, p.ldc);
            g.gemm(transA, transB, m, n, k, 1.5f, plain.a, 1, p.lda, plain.b, 2, p.ldb, beta, plain.c, 3, p.ldc);
            p.check(g.describe() + " packA=" + packA + " packB=" + packB);
            assertArrayEquals(plain.cArray(), p.cArray(), "packed and unpacked calls differ");
        }
    }

    /** Shared over 2..4 threads (split threshold off): bit-identical to one thread, whichever dimension is split. */
    @Property(tries = 60, edgeCases = EdgeCasesMode.NONE)
    void threadsGiveTheSameBits(@ForAll("kernel") Sgemm g, @ForAll("dim") int m, @ForAll("dim") int n,
                                @ForAll("dim") int k, @ForAll boolean transA, @ForAll boolean transB,
                                @ForAll boolean packA, @ForAll boolean packB, @ForAll("beta") float beta,
                                @ForAll @IntRange(min = 2, max = 4) int threads, @ForAll long seed) {
        Sgemm eager = g.withBlocking(64, g.mr() * 4, g.nr() * 3, 1); // small blocks: shares span several
        Problem p = new Problem(m, n, k, transA, transB, -0.75f, beta, 1, new Random(seed), null);
        Problem single = p.copy();
        var a = new Sgemm.Matrix(p.a, 1, p.lda, transA);
        var b = new Sgemm.Matrix(p.b, 2, p.ldb, transB);
        Sgemm.OperandA opA = packA ? eager.packA(a, m, k) : a;
        Sgemm.OperandB opB = packB ? eager.packB(b, k, n) : b;
        eager.multiply(m, n, k, -0.75f, opA, opB, beta, p.c, 3, p.ldc, POOL, threads);
        eager.multiply(m, n, k, -0.75f, opA, opB, beta, single.c, 3, p.ldc);
        p.check(eager.describe() + " threads=" + threads);
        assertArrayEquals(single.cArray(), p.cArray(), "threads=" + threads + " differs from one thread");
    }

    @Test
    void smallProblemsStayOnOneThread() {
        Sgemm g = Sgemm.create();
        // 2 * 64^3 = 0.5 MFLOP and 2 * 160^3 = 8.2 MFLOP: one share; 2 * 256^3 = 34 MFLOP: both threads.
        assertEquals(1, g.parts(64, 64, 64, 2, 64));
        assertEquals(1, g.parts(160, 160, 160, 2, 64));
        assertEquals(2, g.parts(256, 256, 256, 2, 64));
        assertEquals(2, g.parts(512, 512, 512, 2, 64));
        assertEquals(1, g.parts(512, 512, 512, 2, 1), "never more shares than tiles");
    }

    @Test
    void aWorkersFailureReachesTheCaller() {
        // A confined arena's memory is readable from its owner thread only: the pool's share fails, the caller's
        // share succeeds, and the call must report the worker's exception, not hang or return as if done.
        Sgemm eager = Sgemm.create().withBlocking(64, 16, 64, 1);
        try (Arena confined = Arena.ofConfined()) {
            MemorySegment a = confined.allocate(64 * 64 * 4), b = confined.allocate(64 * 64 * 4);
            MemorySegment c = confined.allocate(64 * 64 * 4);
            assertThrows(WrongThreadException.class, () -> eager.multiply(64, 64, 64, 1f, Sgemm.Matrix.of(a, 0, 64),
                    Sgemm.Matrix.of(b, 0, 64), 0f, c, 0, 64, POOL, 2));
        }
    }

    @Test
    void alphaZeroOrEmptyKReadsNeitherAnorB() {
        for (Sgemm g : kernels()) {
            for (int k : new int[] {0, 7}) {
                int m = 5, n = 9;
                float[] nan = new float[Math.max(1, m * k + n * k)];
                java.util.Arrays.fill(nan, Float.NaN);
                float[] c = new float[m * n];
                for (int i = 0; i < c.length; i++) c[i] = i;
                MemorySegment s = MemorySegment.ofArray(nan);
                g.gemm(false, false, m, n, k, k == 0 ? 1f : 0f, s, 0, Math.max(1, k), s, 0, n, 2f,
                        MemorySegment.ofArray(c), 0, n);
                for (int i = 0; i < c.length; i++) assertEquals(2f * i, c[i], g.describe() + " k=" + k);
                g.gemm(false, false, m, n, k, 0f, s, 0, Math.max(1, k), s, 0, n, 0f, MemorySegment.ofArray(c), 0, n);
                for (float v : c) assertEquals(0f, v);
            }
        }
    }

    @Test
    void checksNameTheOperandAndTheRule() {
        Sgemm g = Sgemm.create();
        MemorySegment s = MemorySegment.ofArray(new float[100]);
        var e = assertThrows(IllegalArgumentException.class,
                () -> g.gemm(false, false, 4, 4, 5, 1f, s, 0, 4, s, 0, 4, 0f, s, 0, 4));
        assertTrue(e.getMessage().contains("A: leading dimension 4 < stored row width 5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> g.gemm(false, true, 4, 30, 5, 1f, s, 0, 5, s, 0, 5, 0f, s, 0, 30));
        assertTrue(e.getMessage().contains("B: 30x5 floats"), e.getMessage());
        var packed = g.packB(Sgemm.Matrix.of(s, 0, 4), 5, 4);
        e = assertThrows(IllegalArgumentException.class,
                () -> g.multiply(4, 4, 6, 1f, Sgemm.Matrix.of(s, 0, 6), packed, 0f, s, 0, 4));
        assertTrue(e.getMessage().contains("packed B is 5x4, call needs 6x4"), e.getMessage());
        Sgemm other = g.withBlocking(3, g.mr(), g.nr(), 1);
        e = assertThrows(IllegalArgumentException.class,
                () -> other.multiply(4, 4, 5, 1f, Sgemm.Matrix.of(s, 0, 5), packed, 0f, s, 0, 4));
        assertTrue(e.getMessage().contains("B was packed for"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> g.multiply(4, 4, 5, 1f, Sgemm.Matrix.of(s, 0, 5), packed, 0f, s, 0, 4, POOL, 0));
    }

    @Test
    void widthsAboveThePreferredOneAreRejected() {
        int preferred = VectorConfig.PREFERRED.vectorBitSize();
        if (preferred < 512) {
            var e = assertThrows(IllegalArgumentException.class, () -> VectorConfig.species(preferred * 2));
            assertTrue(e.getMessage().contains("wider than this machine's preferred " + preferred), e.getMessage());
            var e2 = assertThrows(IllegalArgumentException.class,
                    () -> VectorConfig.parseSpecies(Integer.toString(preferred * 2)));
            assertTrue(e2.getMessage().startsWith("stride.cpu.vectorBits: "), e2.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> VectorConfig.parseSpecies("200"));
        assertThrows(IllegalArgumentException.class, () -> VectorConfig.parseSpecies("wide"));
        assertEquals(128, VectorConfig.parseSpecies("128").vectorBitSize());
        assertEquals(VectorConfig.PREFERRED, VectorConfig.parseSpecies(null));
        assertEquals(false, VectorConfig.parseSimd("FALSE"));
        assertThrows(IllegalArgumentException.class, () -> VectorConfig.parseSimd("no"));
        assertTrue(VectorConfig.describe().contains("-bit"), VectorConfig.describe());
    }

    /**
     * One GEMM problem: op(A) m x k at float offset 1, op(B) k x n at offset 2, C m x n at offset 3, each with
     * {@code pad} extra floats per stored row, random values in [-1, 1). With beta = 0, C starts as NaN, which
     * BLAS semantics (and so the kernel) must ignore.
     */
    static final class Problem {
        final int m, n, k, lda, ldb, ldc;
        final boolean transA, transB;
        final float alpha, beta;
        final MemorySegment a, b, c;
        final float[] c0;

        Problem(int m, int n, int k, boolean transA, boolean transB, float alpha, float beta, int pad, Random rnd,
                Arena arena) {
            this.m = m; this.n = n; this.k = k; this.transA = transA; this.transB = transB;
            this.alpha = alpha; this.beta = beta;
            lda = (transA ? m : k) + pad;
            ldb = (transB ? k : n) + pad;
            ldc = n + pad;
            a = alloc(1 + (long) (transA ? k : m) * lda, arena);
            b = alloc(2 + (long) (transB ? n : k) * ldb, arena);
            c = alloc(3 + (long) m * ldc, arena);
            fillA(rnd);
            fillB(rnd);
            c0 = new float[m * n];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    c0[i * n + j] = beta == 0f ? Float.NaN : rnd.nextFloat() * 2 - 1;
                    c.setAtIndex(ValueLayout.JAVA_FLOAT, 3 + (long) i * ldc + j, c0[i * n + j]);
                }
        }

        private Problem(Problem p) {
            m = p.m; n = p.n; k = p.k; lda = p.lda; ldb = p.ldb; ldc = p.ldc; transA = p.transA; transB = p.transB;
            alpha = p.alpha; beta = p.beta; c0 = p.c0;
            a = copyOf(p.a); b = copyOf(p.b); c = copyOf(p.c);
        }

        Problem copy() { return new Problem(this); }

        void fillA(Random rnd) { fill(a, rnd); }

        void fillB(Random rnd) { fill(b, rnd); }

        void copyA(Problem p) { a.copyFrom(p.a); }

        void copyB(Problem p) { b.copyFrom(p.b); }

        double opA(int i, int p) { return get(a, 1 + (transA ? (long) p * lda + i : (long) i * lda + p)); }

        double opB(int p, int j) { return get(b, 2 + (transB ? (long) j * ldb + p : (long) p * ldb + j)); }

        float[] cArray() {
            float[] r = new float[m * n];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) r[i * n + j] = (float) get(c, 3 + (long) i * ldc + j);
            return r;
        }

        /** C against the double triple loop, and the floats of C before its offset and in its padding untouched. */
        void check(String what) {
            for (int i = 0; i < 3; i++) assertEquals(0.0, get(c, i), what + ": C written before its offset");
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double dot = 0, mag = 0;
                    for (int p = 0; p < k; p++) {
                        double t = opA(i, p) * opB(p, j);
                        dot += t;
                        mag += Math.abs(t);
                    }
                    double exact = alpha * dot, scale = Math.abs(alpha) * mag;
                    if (beta != 0f) {
                        exact += (double) beta * c0[i * n + j];
                        scale += Math.abs(beta * c0[i * n + j]);
                    }
                    double got = get(c, 3 + (long) i * ldc + j);
                    double bound = TOL * Math.sqrt(Math.max(1, k)) * scale + Float.MIN_NORMAL;
                    if (!(Math.abs(got - exact) <= bound))
                        fail(what + ": M=" + m + " N=" + n + " K=" + k + " transA=" + transA + " transB=" + transB
                                + " alpha=" + alpha + " beta=" + beta + " ld=" + lda + "," + ldb + "," + ldc
                                + ": C[" + i + "," + j + "] = " + got + ", expected " + exact + " +- " + bound);
                }
                for (int j = n; j < ldc && i < m - 1; j++) // padding between rows must stay as it was (zero)
                    assertEquals(0.0, get(c, 3 + (long) i * ldc + j), what + ": padding of C row " + i + " written");
            }
        }

        private static void fill(MemorySegment s, Random rnd) {
            // The floats before the offset and in the padding get values too: the kernel must not read them, and
            // any use of them would change the result.
            for (long i = 0; i < s.byteSize() / 4; i++) s.setAtIndex(ValueLayout.JAVA_FLOAT, i, rnd.nextFloat() * 2 - 1);
        }

        private static double get(MemorySegment s, long i) { return s.getAtIndex(ValueLayout.JAVA_FLOAT, i); }

        private static MemorySegment alloc(long floats, Arena arena) {
            return arena == null ? MemorySegment.ofArray(new float[Math.toIntExact(floats)])
                    : arena.allocate(floats * 4, 64);
        }

        private static MemorySegment copyOf(MemorySegment s) {
            float[] r = new float[Math.toIntExact(s.byteSize() / 4)];
            MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, 0, r, 0, r.length);
            return MemorySegment.ofArray(r);
        }
    }
}
