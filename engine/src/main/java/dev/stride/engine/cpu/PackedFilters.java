package dev.stride.engine.cpu;

/**
 * A convolution's weight as packed GEMM left operands, one per (group, row block): packed at load, and re-packed
 * in place at the start of a run only when the weight was written since the last one (a training step writes it
 * every run, an inference session never after the first).
 */
final class PackedFilters {
    private final Sgemm geometry;
    private final CpuNode.Watch watch;
    private final Sgemm.Matrix[] sources;
    private final Sgemm.PackedA[] packed;
    private final Runnable prepare;

    /**
     * Operand i is op(sources[i]), rows[i] x cols[i]; {@code prepare} (or null) derives the sources from the
     * watched weight before each re-pack (a flipped filter, say).
     */
    PackedFilters(Sgemm geometry, CpuNode.Watch watch, Sgemm.Matrix[] sources, int[] rows, int[] cols,
                  Runnable prepare) {
        this.geometry = geometry;
        this.prepare = prepare;
        this.watch = watch;
        this.sources = sources;
        this.packed = new Sgemm.PackedA[sources.length];
        for (int i = 0; i < sources.length; i++) packed[i] = geometry.packA(sources[i], rows[i], cols[i]);
    }

    /** Re-packs every operand if the weight changed. Call from the run loop's thread, before any GEMM reads them. */
    void refresh() {
        if (!watch.changed()) return;
        if (prepare != null) prepare.run();
        for (int i = 0; i < sources.length; i++) geometry.repackA(sources[i], packed[i]);
    }

    Sgemm.PackedA get(int i) { return packed[i]; }
}
