package dev.stride.engine.cuda;

import dev.stride.engine.ChunkedOrder;

/**
 * The launches of reduce.cu for a node's per-channel sums over x[n, c, hw] in {@link ChunkedOrder}: the chunk sums,
 * one thread per chunk of every plane, into scratch the node takes once, then the totals, one thread per channel.
 * Families whose kernels use reduce.cu register it as a source ({@link #SOURCE}) before their own file.
 */
final class ChunkedSums {
    static final String SOURCE = "reduce.cu";

    final long n, c, hw, chunks;

    ChunkedSums(long n, long c, long hw) {
        this.n = n;
        this.c = c;
        this.hw = hw;
        this.chunks = ChunkedOrder.chunks(hw);
    }

    /** Chunk sums per channel: n * chunks. */
    long perChannel() { return n * chunks; }

    /** Chunk sums in all: c * n * chunks. */
    long parts() { return c * perChannel(); }

    /** Device scratch of {@code arrays} arrays of {@link #parts()} doubles. */
    long scratch(CudaNode node, int arrays) { return node.scratch(8L * arrays * parts()); }

    /** part[t] = the sum of chunk t of x. */
    Launch sums(CudaNode node, long x, long part) {
        // stride_chunk_sums(const float* x, double* part, long long n, long long c, long long hw, long long chunk,
        //                   long long chunks)
        return node.launch("stride_chunk_sums", parts(), Arg.ptr(x), Arg.ptr(part), Arg.i64(n), Arg.i64(c),
                Arg.i64(hw), Arg.i64(ChunkedOrder.CHUNK), Arg.i64(chunks));
    }

    /** part[t] = the sum over chunk t of (x - sums[ch] / m)^2, m = n * hw. */
    Launch squaredDeviations(CudaNode node, long x, long sums, long part) {
        // stride_chunk_sqdev(const float* x, const double* sums, double m, double* part, long long n, long long c,
        //                    long long hw, long long chunk, long long chunks)
        return node.launch("stride_chunk_sqdev", parts(), Arg.ptr(x), Arg.ptr(sums), Arg.f64((double) n * hw),
                Arg.ptr(part), Arg.i64(n), Arg.i64(c), Arg.i64(hw), Arg.i64(ChunkedOrder.CHUNK), Arg.i64(chunks));
    }

    /** total[o] (double) = the sum of output o's {@link #perChannel()} chunk sums, for {@code outputs} outputs. */
    Launch totals(CudaNode node, long part, long total, long outputs) {
        // stride_chunk_totals(const double* part, double* total, long long outputs, long long per)
        return node.launch("stride_chunk_totals", outputs, Arg.ptr(part), Arg.ptr(total), Arg.i64(outputs),
                Arg.i64(perChannel()));
    }

    /** The same totals of the c channels, rounded to float into {@code out}. */
    Launch floatTotals(CudaNode node, long part, long out) {
        // stride_chunk_totals_float(const double* part, float* total, long long outputs, long long per)
        return node.launch("stride_chunk_totals_float", c, Arg.ptr(part), Arg.ptr(out), Arg.i64(c),
                Arg.i64(perChannel()));
    }
}
