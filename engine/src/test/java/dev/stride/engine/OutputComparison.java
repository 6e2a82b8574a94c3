package dev.stride.engine;

import dev.stride.graph.Shape;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The element-wise comparison both cross-backend helpers (cpu and cuda) make of a backend's outputs against the
 * reference's: every element within atol + rtol * |reference|, NaN where the reference has NaN and the same
 * infinity counting as agreement. A failure names the output, its shape, the element (flat and multi-index), both
 * values, the error, the allowance and the tolerance's key and reason.
 */
public final class OutputComparison {
    private OutputComparison() {}

    /**
     * A tolerance: {@code key} and {@code why} go into failure messages.
     */
    public record Tolerance(String key, double atol, double rtol, String why) {}

    /**
     * Compares every output of {@code want} with the same output of {@code got}; returns, per output, the worst
     * |got - want| / allowed (0 where nothing is allowed and nothing differs).
     *
     * @param backend   the name of what produced {@code got}, for messages ("cpu", "cuda")
     * @param reference what produced {@code want}, for messages ("reference", "reference (F64)")
     * @param context   appended to a failure message (e.g. the algorithms that ran), or ""
     */
    public static Map<String, Double> check(String backend, Map<String, Tensor> got, String reference,
                                            Map<String, Tensor> want, Tolerance tol, String context) {
        Map<String, Double> worst = new LinkedHashMap<>();
        for (String name : want.keySet()) {
            Tensor g = got.get(name), w = want.get(name);
            if (g == null) fail(backend + " produced no output '" + name + "'" + context);
            if (!g.shape().equals(w.shape()))
                fail("output '" + name + "': " + backend + " shape " + g.shape() + ", " + reference + " " + w.shape() + context);
            double ratio = 0;
            for (long i = 0; i < w.size(); i++) {
                double gi = g.get(i), wi = w.get(i);
                if (Double.isNaN(wi) && Double.isNaN(gi)) continue;
                if (Double.isInfinite(wi) && gi == wi) continue;
                double err = Math.abs(gi - wi);
                double allowed = tol.atol() + tol.rtol() * Math.abs(wi);
                if (!(err <= allowed))
                    fail("output '" + name + "' " + w.shape() + " at flat index " + i + " " + index(w.shape(), i) + ": "
                            + backend + " " + gi + ", " + reference + " " + wi + ", |err| " + err + " > " + allowed
                            + " (tolerance '" + tol.key() + "': " + tol.why() + ")" + context);
                ratio = Math.max(ratio, allowed == 0 ? 0 : err / allowed);
            }
            worst.put(name, ratio);
        }
        return worst;
    }

    /** The multi-index of flat index {@code i} in row-major {@code shape}, e.g. "[1, 0, 2]". */
    static String index(Shape shape, long i) {
        int[] dims = shape.dims();
        long[] at = new long[dims.length];
        for (int d = dims.length - 1; d >= 0; d--) {
            at[d] = dims[d] == 0 ? 0 : i % dims[d];
            i = dims[d] == 0 ? 0 : i / dims[d];
        }
        return Arrays.toString(at);
    }
}
