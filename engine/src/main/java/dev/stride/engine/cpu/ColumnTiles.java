package dev.stride.engine.cpu;

/**
 * The output pixels of one image split into equal tiles of whole GEMM column panels, so that a column-matrix tile
 * (rows x width floats) stays within a scratch budget: VGG-16's conv5 has K = 4608 rows, and its whole column
 * matrix for 14x14 outputs is 3.6 MB, for ResNet's 3x3 512-channel layers at 28x28 14 MB; a bounded tile keeps
 * every worker's scratch a few hundred KiB and the tile in cache between im2col and the GEMM that reads it.
 *
 * <p>The split depends on the geometry only, never on the thread count: each output element is then computed by
 * the same sequence of operations however the tiles are shared out.
 */
record ColumnTiles(int columns, int width, int count) {
    /**
     * Tiles of at most {@code budgetBytes / (4 * rows)} columns, rounded to {@code nr} (the GEMM's panel width),
     * at least {@code nr}; equal widths but the last.
     */
    static ColumnTiles of(int columns, int rows, int nr, long budgetBytes) {
        long fit = budgetBytes / (4L * Math.max(1, rows));
        int max = (int) Math.max(nr, Math.min(Integer.MAX_VALUE / 2, fit / nr * nr));
        if (columns <= max) return new ColumnTiles(columns, columns, 1);
        int count = Math.ceilDiv(columns, max);
        int width = Math.ceilDiv(Math.ceilDiv(columns, count), nr) * nr;
        return new ColumnTiles(columns, width, Math.ceilDiv(columns, width));
    }

    int from(int t) { return t * width; }

    int to(int t) { return Math.min(columns, (t + 1) * width); }
}
