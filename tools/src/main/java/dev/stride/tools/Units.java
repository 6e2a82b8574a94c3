package dev.stride.tools;

/** Human-readable sizes and durations. */
final class Units {
    private Units() {}

    static String bytes(long b) {
        if (b < 1024) return b + " B";
        if (b < 1024L * 1024) return String.format("%.1f KiB", b / 1024.0);
        if (b < 1024L * 1024 * 1024) return String.format("%.2f MiB", b / (1024.0 * 1024));
        return String.format("%.2f GiB", b / (1024.0 * 1024 * 1024));
    }

    static String duration(double seconds) {
        if (seconds < 60) return String.format("%.0fs", seconds);
        return String.format("%dm%02ds", (long) seconds / 60, (long) seconds % 60);
    }
}
