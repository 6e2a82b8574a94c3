package dev.stride.engine.cpu;

import java.util.Map;

/**
 * The one table of tolerances for comparing the cpu backend (float32) with the reference oracle (float64 on the
 * same float32-rounded inputs): |cpu - ref| <= atol + rtol * |ref| per element. Keyed by op family and algorithm;
 * every entry says why it is what it is. Inputs in the property suites are O(1) (uniform in [-1, 1]).
 */
public final class Tolerances {
    private Tolerances() {}

    public record Tol(double rtol, double atol, String why) {}

    private static final Map<String, Tol> TABLE = Map.ofEntries(
            Map.entry("elementwise", new Tol(1e-6, 1e-6,
                    "one or two float roundings per element; transcendental functions (exp, tanh) of the Vector API"
                            + " are within 1-2 ulp")),
            Map.entry("reduction", new Tol(1e-5, 1e-5,
                    "float32 sums of up to ~1e4 terms in a different order than the double oracle: error grows"
                            + " like sqrt(n) ulp")),
            Map.entry("reduction.long", new Tol(5e-4, 1e-5,
                    "float32 sums of up to ~4e5 terms (rank-4 reductions over 75^3 cells; an edge/reflect/wrap pad"
                            + " corner folding (1 + pad)^rank cells) with cancellation: the error scales with the"
                            + " partial sums (a few hundred: ulp(256) = 3e-5), not with the result; measured up to 6.2e-5")),
            Map.entry("gemm", new Tol(1e-4, 1e-4,
                    "float32 dot products of length K (up to a few thousand) accumulated with FMA in blocked order")),
            Map.entry("conv.im2col", new Tol(1e-4, 1e-4, "same as gemm: float32 dot products over C*kH*kW")),
            Map.entry("conv.gemm1x1", new Tol(1e-4, 1e-4, "same as gemm")),
            Map.entry("conv.depthwise", new Tol(1e-5, 1e-5, "short float32 sums over kH*kW taps")),
            Map.entry("conv.backward", new Tol(2e-4, 2e-4,
                    "backward data/filter sums over N*Ho*Wo (filter) or O*kH*kW (data) terms in float32")),
            Map.entry("conv.winograd-f2x3", new Tol(5e-4, 5e-4,
                    "Winograd F(2x2,3x3) transforms add and subtract up to 16 input terms before the product:"
                            + " the rounding error of the transformed tile is a few times that of the direct sum")),
            Map.entry("conv.winograd-f4x3", new Tol(2e-3, 2e-3,
                    "F(4x4,3x3) transform matrices have entries up to 8 (points 0, +-1, +-2, 1/2): the"
                            + " transformed values and so their rounding errors grow by ~10x over F(2x2,3x3)")),
            Map.entry("pool", new Tol(1e-6, 1e-6, "max is exact; averages of at most a window of floats")),
            Map.entry("norm", new Tol(1e-4, 1e-4,
                    "batch statistics over N*H*W in float32, then 1/sqrt(var + eps) amplifies the error of var"
                            + " when var is small")),
            Map.entry("loss", new Tol(1e-5, 1e-5, "log-sum-exp and means over a batch in float32")),
            Map.entry("softmax", new Tol(1e-5, 1e-5,
                    "exp of max-shifted inputs (within 2 ulp) and float32 sums along the axis (the normaliser; the"
                            + " backward's sum(dy y) or sum(dy), which exp(y) scales) in another order than the double"
                            + " oracle, as 'reduction'")),
            Map.entry("optimizer", new Tol(1e-5, 1e-6,
                    "a handful of float32 operations per element; Adam's sqrt and division")),
            Map.entry("pool.lp", new Tol(5e-6, 5e-6,
                    "|x|^p and the root as float32 exp(p log x) (about 2 ulp each, times p); the gradient adds, per"
                            + " input cell, up to kH*kW window terms each bounded by |dy| and a few ulp off: 16 taps x"
                            + " 3 ulp ~ 3e-6 at worst (measured: under 1e-6)")));

    /** The tolerance of {@code key}; fails loudly for a key that is not in the table. */
    public static Tol of(String key) {
        Tol t = TABLE.get(key);
        if (t == null) throw new IllegalArgumentException("no tolerance for '" + key + "'; known: " + TABLE.keySet());
        return t;
    }
}
