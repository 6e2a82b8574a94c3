package dev.stride.engine;

import java.util.function.LongToDoubleFunction;

/**
 * The summation order of long reductions that the reference backend defines and the cuda kernels follow bit for bit:
 * batch norm's mean, variance and gradient sums and a convolution's bias gradient (per channel, over the planes of an
 * NCHW tensor), the global gradient norm (over every gradient), and the element-wise losses (BCE with logits, MSE,
 * L1, Gaussian KL: over all their elements). A run of elements (one plane, one gradient) is
 * cut into chunks of {@link #CHUNK} consecutive elements from its start; each chunk is summed in double from zero, in
 * element order; the chunk sums are added in order to the total, run after run (a channel's planes n = 0, 1, ...;
 * the gradients in input order).
 *
 * <p>Why chunks: the order then depends on the shape only, and a GPU sums every chunk of every run in a thread of its
 * own, then adds the chunk sums per output, and still gives the reference's bits. A thread per output alone would
 * leave a GPU nearly idle (64 threads for a 64-channel batch norm over 400,000 values each). The partial sums also
 * keep rounding error lower than one long running sum.
 */
public final class ChunkedOrder {
    private ChunkedOrder() {}

    /** Elements per chunk. */
    public static final int CHUNK = 256;

    /** Chunks of a run of {@code length} elements; at least one, so that an empty run still has a (zero) sum. */
    public static long chunks(long length) { return Math.max(1, (length + CHUNK - 1) / CHUNK); }

    /** The sum over i < n of {@code term(i)} in this order: one run, from zero. */
    public static double sum(long n, LongToDoubleFunction term) {
        double total = 0;
        for (long from = 0; from < n; from += CHUNK) {
            double part = 0;
            for (long i = from, end = Math.min(n, from + CHUNK); i < end; i++) part += term.applyAsDouble(i);
            total += part;
        }
        return total;
    }
}
