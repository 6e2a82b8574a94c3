package dev.stride.engine;

/**
 * @param seed    seed for parameter initialisation where the plan stores no values
 * @param threads worker threads for backends that parallelise inside ops (1 = the calling thread only)
 */
public record SessionOptions(long seed, int threads) {
    public SessionOptions {
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }

    public static SessionOptions defaults() {
        return new SessionOptions(42, Math.max(1, Runtime.getRuntime().availableProcessors()));
    }

    public SessionOptions withSeed(long s) { return new SessionOptions(s, threads); }

    public SessionOptions withThreads(int t) { return new SessionOptions(seed, t); }
}
