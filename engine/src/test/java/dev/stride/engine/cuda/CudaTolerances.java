package dev.stride.engine.cuda;

import java.util.Map;

/**
 * The one table of tolerances for comparing the cuda backend (float32 buffers) with the reference oracle:
 * |cuda - ref| <= atol + rtol * |ref| per element. Keyed by op family; every entry says why it is what it is.
 * Inputs in the property suites are O(1) (uniform in [-1, 1]). The same table serves the emulated device and a
 * GPU (-Pgpu): the kernels compute in double and round once on both, so the GPU's libdevice functions (within 2
 * ulp in double) change a float result by at most one rounding step, already allowed for.
 */
public final class CudaTolerances {
    private CudaTolerances() {}

    public record Tol(double rtol, double atol, String why) {}

    private static final Map<String, Tol> TABLE = Map.ofEntries(
            Map.entry("exact", new Tol(0, 0,
                    "against the float32 reference: the kernel computes the reference's double expression from the"
                            + " same floats and rounds once, as Buf does, so the bits agree (ops without exp/log/tanh/pow,"
                            + " whose last bit may differ between Java's and C's libraries)")),
            Map.entry("library", new Tol(1.2e-7, 0,
                    "against the float32 reference, for kernels calling exp, expm1, log, log1p, tanh, pow or cos: the"
                            + " double results of Java's and the C/CUDA libraries differ by an ulp or two, which moves the"
                            + " float rounding by at most one step (2^-23 relative)")),
            Map.entry("elementwise", new Tol(4e-7, 1e-7,
                    "against the float64 oracle: each cuda node rounds its double result to float (2^-24 relative), and"
                            + " a gradient passes through a few such nodes (the loss's product and sum, the backward op),"
                            + " so a handful of half-ulps; the absolute part covers results that cancel to near zero")),
            Map.entry("reduction", new Tol(1e-6, 1e-6,
                    "against the float64 oracle: double sums of float-rounded terms (the gradient's inputs were"
                            + " rounded by earlier nodes), up to a few hundred terms in these suites, rounded once")),
            Map.entry("training", new Tol(1e-5, 1e-6,
                    "against the cpu backend over a few SGD steps: both are float32, the cpu rounding its vector math"
                            + " (float tanh, float sums) differently from the cuda kernels' double-then-round, and each"
                            + " step's parameter difference feeds the next step's gradients")),
            Map.entry("conv", new Tol(2e-4, 2e-4,
                    "convolutions and their gradients accumulate in float32, as cuDNN's float32 engines do (the direct"
                            + " kernels in a fixed order, cuDNN's in its own: GEMM tiles, Winograd or FFT transforms): sums"
                            + " of up to C*kH*kW (forward, data) or N*Ho*Wo (filter) products, a few ulps of the sum's"
                            + " magnitude each, like the cpu backend's 'conv.backward'")),
            Map.entry("gemm", new Tol(1e-4, 1e-4,
                    "matrix products accumulate in float32 (the direct kernel in order, cuBLAS in blocks): dot"
                            + " products of length K, as the cpu backend's 'gemm'")),
            Map.entry("random", new Tol(2e-7, 0,
                    "against the float64 oracle: the mask and the noise are the reference's numbers; the float mask"
                            + " 1/(1-p) and Box-Muller's float rounding are each half an ulp")));

    /** The tolerance of {@code key}; fails loudly for a key that is not in the table. */
    public static Tol of(String key) {
        Tol t = TABLE.get(key);
        if (t == null) throw new IllegalArgumentException("no tolerance for '" + key + "'; known: " + TABLE.keySet());
        return t;
    }
}
