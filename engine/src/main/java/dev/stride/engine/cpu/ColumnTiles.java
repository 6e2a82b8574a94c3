package dev.stride.engine.cpu;

/**
 * The output pixels of one image split into equal tiles of whole GEMM column panels, so that a column-matrix tile
 * (rows x width floats) stays within a scratch budget: ResNet's 3x3 512-channel layer at 28x28 has a 14 MB column
 * matrix, VGG-16's 64-channel 224x224 layer 116 MB; a tile keeps every worker's scratch bounded and the tile in
 * cache between the im2col that writes it and the GEMM that reads it.
 *
 * <p>The split depends on the geometry only, never on the thread count: each output element is then computed by
 * the same sequence of operations however the tiles are shared out.
 */
record ColumnTiles(int columns, int width, int count) {
    /**
     * Scratch per worker for a tile: with the GEMM's filter block it about fills this machine's L2 (512 KiB,
     * Zen 3), where the GEMM wants its B block ({@link Sgemm}).
     */
    static final long BUDGET_BYTES = 512 * 1024;

    /**
     * ... but tiles may be this wide even when that is more (about half as wide at worst, after the plane is
     * split into equal tiles): layers with a large K
     * and a small plane (ResNet's 512-channel 7x7, K = 4608) would otherwise get 16-column tiles, and each
     * would stream the whole 9 MB filter through the GEMM for 16 columns of output.
     */
    static final int MIN_COLUMNS = 128;

    /**
     * The widest plane (output pixels per image) whose images are laid side by side in one GEMM ({@link Slabs}).
     * Single-thread timings (ConvTiming, im2col forced; GFLOP/s per image / batched, +-10% on this shared
     * machine): ResNet-18's 3x3 512@7x7 at batch 8 (plane 49) forward 62 / 65-76, data gradient 63 / 78, filter
     * gradient 53 / 66; a 3x3 64@14x14 -> 12x12 at batch 8 (plane 144) 37 / 48, 26 / 48 (col2im form), 30 / 42;
     * DCGAN's 4x4/2 64 -> 128 @14 -> 7 at batch 64 33 / 53 forward (with the gathering im2col). From 196 pixels
     * up nothing changed any more (256@14x14, 128@28x28 at batch 8 within the noise).
     */
    static final int SLAB_MAX_PLANE = 256;

    /**
     * A slab may be this many columns wide even when that is over {@link #BUDGET_BYTES}: a 7x7 layer with K in the
     * thousands would otherwise get two images a slab. 512 and 1024 measured alike, 256 lost up to 20% (LeNet's
     * c3, DCGAN's stride-2 layer), 2048 lost half of the data gradient's speed (its col scratch outgrows L2).
     */
    static final int SLAB_MIN_COLUMNS = 512;

    /**
     * What kernels are built with; tests lower them to reach the multi-tile and multi-slab paths with small
     * shapes. {@code slabMaxPlane} 0 turns the batched path off.
     */
    record Limits(long bytes, int minColumns, int slabMaxPlane, int slabMinColumns) {
        Limits(long bytes, int minColumns) { this(bytes, minColumns, SLAB_MAX_PLANE, SLAB_MIN_COLUMNS); }
    }

    static volatile Limits limits = new Limits(BUDGET_BYTES, MIN_COLUMNS);

    /** Tiles under the current {@link #limits}. */
    static ColumnTiles of(int columns, int rows, int nr) {
        Limits l = limits;
        return of(columns, rows, nr, l.bytes(), l.minColumns());
    }

    /**
     * The fewest tiles of at most max({@code budgetBytes / (4 * rows)}, {@code minColumns}) columns rounded up
     * to {@code nr} (the GEMM's panel width), with equal widths but the last (so at least half that maximum).
     */
    static ColumnTiles of(int columns, int rows, int nr, long budgetBytes, int minColumns) {
        long fit = budgetBytes / (4L * Math.max(1, rows));
        long max = Math.max(fit, minColumns);
        max = Math.max(nr, Math.min(Integer.MAX_VALUE / 2, (max + nr - 1) / nr * nr));
        if (columns <= max) return new ColumnTiles(columns, columns, 1);
        int count = (int) Math.ceilDiv(columns, max);
        int width = Math.ceilDiv(Math.ceilDiv(columns, count), nr) * nr;
        return new ColumnTiles(columns, width, Math.ceilDiv(columns, width));
    }

    int from(int t) { return t * width; }

    int to(int t) { return Math.min(columns, (t + 1) * width); }

    /**
     * Images [0, images) in slabs of {@code per} consecutive whole images (the last may have fewer): a batched
     * convolution lays the column matrices of a slab's images side by side, so that one GEMM has N (or, for the
     * filter gradient, K) = images * pixels instead of one GEMM per image with a degenerate dimension. Like the
     * tiles, the split depends on the geometry only.
     */
    record Slabs(int images, int per, int count) {
        /** The fewest slabs of at most {@code maxPer} images, as equal as they can be but the last. */
        static Slabs of(int images, int maxPer) {
            int count = Math.ceilDiv(images, Math.max(1, maxPer));
            int per = Math.ceilDiv(images, count);
            return new Slabs(images, per, Math.ceilDiv(images, per));
        }

        int from(int s) { return s * per; }

        int to(int s) { return Math.min(images, (s + 1) * per); }
    }

    /**
     * The slabs of a batched GEMM over {@code images} images of {@code plane} pixels, {@code rows} rows of
     * scratch per column, or null when the images should rather be taken one by one: at batch 1, for planes
     * above {@link Limits#slabMaxPlane()}, and where fewer than two images fit in a slab of
     * max(budget / (4 rows), {@link Limits#slabMinColumns()}) columns.
     */
    static Slabs slabs(int images, int plane, int rows) {
        return slabs(images, plane, rows, limits.slabMaxPlane());
    }

    /**
     * As {@link #slabs(int, int, int)} for a filter gradient, which gains from slabs on planes up to
     * {@link #FILTER_SLAB_FACTOR} times larger: its per-image GEMM has a depth of one plane and M x N the
     * filter's size, small for the first layers. LeNet's c1 (6 x 25, 28x28 planes) took 2.7 ms per image and
     * 1.9 in slabs at batch 64, where its forward pass took 1.0 and 1.7 (that GEMM has the plane as N, and
     * the per-image path writes shifted im2col straight into panels).
     */
    static Slabs filterSlabs(int images, int plane, int rows) {
        return slabs(images, plane, rows, FILTER_SLAB_FACTOR * limits.slabMaxPlane());
    }

    static final int FILTER_SLAB_FACTOR = 4;

    private static Slabs slabs(int images, int plane, int rows, int maxPlane) {
        Limits l = limits;
        if (images < 2 || plane > maxPlane) return null;
        long width = Math.max(l.bytes() / (4L * Math.max(1, rows)), l.slabMinColumns());
        long maxPer = Math.min(images, width / Math.max(1, plane));
        return maxPer < 2 ? null : Slabs.of(images, (int) maxPer);
    }
}
