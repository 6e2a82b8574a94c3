package dev.stride.zoo.train;

import java.io.PrintStream;

/**
 * A terminal progress bar: steps done, rate, ETA and a caller's status text. Redraws one line with '\r' on a
 * terminal; elsewhere (CI logs, pipes) prints a plain line every tenth of the work.
 */
public final class Progress {
    private final PrintStream out;
    private final String label;
    private final int total;
    private final int itemsPerStep;
    private final boolean terminal = System.console() != null;
    private final long start = System.nanoTime();
    private int done;
    private long lastDraw;

    public Progress(PrintStream out, String label, int total, int itemsPerStep) {
        this.out = out;
        this.label = label;
        this.total = total;
        this.itemsPerStep = itemsPerStep;
    }

    /** One step done; {@code status} is shown after the counters (loss, accuracy, ...). */
    public void step(String status) {
        done++;
        long now = System.nanoTime();
        if (terminal) {
            if (now - lastDraw < 200_000_000L && done < total) return;
            lastDraw = now;
            out.print("\r" + line(status, now));
            out.flush();
        } else if (done == total || done % Math.max(1, total / 10) == 0) {
            out.println(line(status, now));
        }
    }

    /** Ends the line on a terminal. */
    public void done() { if (terminal) out.println(); }

    private String line(String status, long now) {
        double secs = (now - start) / 1e9;
        double rate = done * itemsPerStep / Math.max(secs, 1e-9);
        double eta = (total - done) * (secs / done);
        int width = 24, filled = (int) ((long) width * done / Math.max(total, 1));
        return String.format("%s [%s%s] %d/%d  %s  %.0f img/s  ETA %s", label, "=".repeat(filled),
                " ".repeat(width - filled), done, total, status, rate, duration(eta));
    }

    static String duration(double seconds) {
        if (seconds < 60) return String.format("%.0fs", seconds);
        return String.format("%dm%02ds", (long) seconds / 60, (long) seconds % 60);
    }
}
