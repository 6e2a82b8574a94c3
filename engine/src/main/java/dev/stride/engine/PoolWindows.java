package dev.stride.engine;

import dev.stride.graph.op.AdaptiveAvgPool2d;

import java.util.stream.IntStream;

/**
 * The windows of 2-d pooling along one axis, shared by every backend's pooling kernels and their gradients (the
 * reference's loops, the cpu's phase-split planes, the cuda kernels' uploaded tables), so that all read the same
 * cells and divide by the same counts. The output sizes come from the ops' shape rules, which guarantee every window
 * at least one cell of the input.
 */
public final class PoolWindows {
    private PoolWindows() {}

    /**
     * Max and Lp pooling: for each of {@code out} windows, its taps {@code o*s - pad + j*d}, {@code j < k}, that fall
     * inside {@code [0, in)}, increasing.
     */
    public static int[][] taps(int out, int in, int k, int s, int pad, int d) {
        int[][] t = new int[out][];
        for (int o = 0; o < out; o++) {
            int start = o * s - pad;
            t[o] = IntStream.range(0, k).map(j -> start + j * d).filter(i -> i >= 0 && i < in).toArray();
        }
        return t;
    }

    /**
     * Box windows along one axis: window o's cells in the input are {@code [lo[o], hi[o])}; {@code padded[o]} is the
     * length of the window over the padded input (what PyTorch's count_include_pad divides by).
     */
    public record Boxes(int[] lo, int[] hi, int[] padded) {
        public int size() { return lo.length; }

        /** Cells of window o inside the input. */
        public int real(int o) { return hi[o] - lo[o]; }
    }

    /**
     * Average pooling (PyTorch's avg_pool2d): window o spans {@code [o*s - padBefore, min(o*s - padBefore + k,
     * in + padAfter))} over the padded input (a ceil-mode window stops at the padded edge), its real cells that span
     * clipped to {@code [0, in)}.
     */
    public static Boxes average(int in, int out, int k, int s, int padBefore, int padAfter) {
        int[] lo = new int[out], hi = new int[out], padded = new int[out];
        for (int o = 0; o < out; o++) {
            int start = o * s - padBefore, end = Math.min(start + k, in + padAfter);
            padded[o] = end - start;
            lo[o] = Math.max(start, 0);
            hi[o] = Math.min(end, in);
        }
        return new Boxes(lo, hi, padded);
    }

    /** Adaptive average pooling's bins ({@link AdaptiveAvgPool2d#binStart}, {@code binEnd}); nothing is padding. */
    public static Boxes adaptive(int in, int out) {
        int[] lo = new int[out], hi = new int[out];
        for (int o = 0; o < out; o++) {
            lo[o] = AdaptiveAvgPool2d.binStart(o, in, out);
            hi[o] = AdaptiveAvgPool2d.binEnd(o, in, out);
        }
        int[] padded = new int[out];
        for (int o = 0; o < out; o++) padded[o] = hi[o] - lo[o];
        return new Boxes(lo, hi, padded);
    }

    /**
     * The divisor of window (a, b) of {@code rows} x {@code cols}, row-major: the padded windows' cells when
     * {@code countPadded}, else the real ones.
     */
    public static double[] divisors(Boxes rows, Boxes cols, boolean countPadded) {
        double[] div = new double[rows.size() * cols.size()];
        for (int a = 0; a < rows.size(); a++)
            for (int b = 0; b < cols.size(); b++)
                div[a * cols.size() + b] = countPadded ? (double) rows.padded()[a] * cols.padded()[b]
                        : (double) rows.real(a) * cols.real(b);
        return div;
    }
}
