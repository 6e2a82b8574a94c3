package dev.stride.graph.op;

/**
 * The random stream of {@link Dropout}, {@link GaussianNoise} and {@link Reparameterize}: a counter-based hash of
 * (op seed, run step, element index) built from the SplitMix64 finaliser. It is part of those ops' meaning, so it
 * lives here beside them and every backend draws exactly the same numbers: a run is reproducible, steps differ,
 * and a kernel holds no mutable generator state (elements can be computed in any order, on any thread).
 */
public final class CounterRng {
    private CounterRng() {}

    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    /** SplitMix64's output function: a bijection on longs with full avalanche. */
    public static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The key of one (seed, step): computed once per run, then combined with each element's counter. */
    public static long key(long seed, long step) {
        return mix(seed ^ mix(step * 0xD1B54A32D192ED03L + GOLDEN));
    }

    /** 64 random bits for counter {@code i} under {@code key}. */
    public static long bits(long key, long i) {
        return mix(key + (i + 1) * GOLDEN);
    }

    /** Uniform on [0, 1) with 53 random bits. */
    public static double uniform(long key, long i) {
        return (bits(key, i) >>> 11) * 0x1.0p-53;
    }

    /**
     * N(0, 1) for element {@code i}: Box-Muller on the two uniforms of counters 2i and 2i+1 (only the cosine half,
     * so each element stays a pure function of its index). The first uniform is taken on (0, 1] so log is finite.
     */
    public static double gaussian(long key, long i) {
        double u1 = ((bits(key, 2 * i) >>> 11) + 1) * 0x1.0p-53;
        double u2 = uniform(key, 2 * i + 1);
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
}
