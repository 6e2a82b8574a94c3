package dev.stride.engine.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * What a session's cpu kernels share: the worker pool, GEMM instances, scratch memory and the write counters of
 * persistent tensors (so that a kernel re-packs or re-transforms its weights only after they changed).
 *
 * <p>Threads: the pool has {@code threads - 1} workers; the caller's thread is the first worker. Work is split only
 * where each share is at least {@link #MIN_FLOP_PER_THREAD} floating-point operations, because waking a parked
 * worker costs about 15-20 us here (see {@link Sgemm}): the second thread must never slow small work down.
 */
public final class CpuRuntime implements AutoCloseable {
    /** The smallest share worth handing to another thread (measured for GEMM; see {@link Sgemm}). */
    public static final long MIN_FLOP_PER_THREAD = Sgemm.MIN_FLOP_PER_THREAD;

    /** A share of a parallel loop: items {@code [from, to)}, on worker {@code worker} (0 = the caller). */
    @FunctionalInterface
    public interface RangeTask {
        void run(int worker, int from, int to);
    }

    private final int threads;
    private final ExecutorService pool;
    private final Sgemm[] gemms;
    private final Arena scratch = Arena.ofShared();
    private final long[] versions;

    CpuRuntime(int threads, int values) {
        this.threads = threads;
        this.pool = threads > 1 ? Executors.newFixedThreadPool(threads - 1, r -> {
            Thread t = new Thread(r, "stride-cpu-worker");
            t.setDaemon(true);
            return t;
        }) : null;
        this.gemms = new Sgemm[threads];
        for (int i = 0; i < threads; i++) gemms[i] = Sgemm.create();
        this.versions = new long[values];
    }

    /** Worker threads a kernel may use, the caller's included. */
    public int threads() { return threads; }

    /**
     * C = alpha op(A) op(B) + beta C on all threads (split by the GEMM itself). Call it from the run loop's thread
     * only, never from inside a {@link #parallelFor} task: the pool's workers would wait on themselves.
     */
    public void gemm(int m, int n, int k, float alpha, Sgemm.OperandA a, Sgemm.OperandB b, float beta,
                     MemorySegment c, long cOffset, int ldc) {
        gemms[0].multiply(m, n, k, alpha, a, b, beta, c, cOffset, ldc, pool, threads);
    }

    /** The single-threaded GEMM of one worker: for use inside a {@link #parallelFor} task. */
    public Sgemm gemmOf(int worker) { return gemms[worker]; }

    /** The GEMM geometry every packed operand of this runtime must have. */
    public Sgemm gemmGeometry() { return gemms[0]; }

    /**
     * Runs {@code task} over items {@code [0, count)} in contiguous shares, one per worker, when the whole loop is
     * worth at least {@link #MIN_FLOP_PER_THREAD} per share ({@code flops} is the whole loop's count); otherwise on
     * the caller's thread alone. Returns after every share finished; the first failure is rethrown.
     */
    public void parallelFor(int count, long flops, RangeTask task) {
        int parts = (int) Math.min(Math.min(threads, count), Math.max(1, flops / MIN_FLOP_PER_THREAD));
        if (parts <= 1) {
            if (count > 0) task.run(0, 0, count);
            return;
        }
        List<Future<?>> futures = new ArrayList<>(parts - 1);
        for (int p = 1; p < parts; p++) {
            int from = (int) ((long) count * p / parts), to = (int) ((long) count * (p + 1) / parts), worker = p;
            futures.add(pool.submit(() -> task.run(worker, from, to)));
        }
        Throwable failure = null;
        try {
            task.run(0, 0, (int) ((long) count / parts));
        } catch (RuntimeException | Error e) {
            failure = e;
        }
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
                    interrupted = true; // every share must finish before the buffers are reused
                }
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        if (failure instanceof RuntimeException r) throw r;
        if (failure instanceof Error e) throw e;
        if (failure != null) throw new IllegalStateException("parallel share failed", failure);
    }

    /** Zeroed, 64-byte aligned native scratch that lives as long as the session. Allocate in factories only. */
    public MemorySegment scratch(long bytes) {
        return scratch.allocate(Math.max(bytes, 1), 64);
    }

    /** How many times value {@code id} has been written from outside the node graph (writes, updates). */
    long version(int valueId) { return versions[valueId]; }

    void bump(int valueId) { versions[valueId]++; }

    @Override public void close() {
        if (pool != null) pool.shutdownNow();
        scratch.close();
    }
}
