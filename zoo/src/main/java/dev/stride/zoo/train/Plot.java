package dev.stride.zoo.train;

import dev.stride.graph.io.AtomicFile;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.geom.Line2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

import static dev.stride.graph.io.AtomicFile.Option.CREATE_DIRECTORIES;
import static dev.stride.graph.io.AtomicFile.Option.READABLE_BY_ALL;

/**
 * A small line chart drawn with Java2D into a PNG: axes with "nice" ticks (1, 2 or 5 times a power of ten), a light
 * grid, a title, axis labels and a legend. Headless: it only draws into a {@link BufferedImage}. Text uses the
 * default font; where no font can be loaded (a JRE without fontconfig or fonts) the text is left out and the lines
 * are still drawn, so a training run never fails for want of a font.
 */
public final class Plot {
    static {
        // Before anything touches AWT: no display is needed, or wanted, to draw into an image.
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    private Plot() {}

    /**
     * One line: points (x[i], y[i]) joined in order, broken where a value is not finite; {@code markers} adds a small
     * square at every point (for sparse series, such as one value per epoch).
     */
    public record Series(String name, double[] x, double[] y, Color color, float width, boolean markers) {
        public Series {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(color, "color");
            if (x.length != y.length)
                throw new IllegalArgumentException("series '" + name + "' has " + x.length + " x and " + y.length + " y values");
        }
    }

    private static final int LEFT = 78, RIGHT = 24, TOP = 44, BOTTOM = 58;

    /** Renders the chart; {@code integerX} keeps x ticks on whole numbers (steps, epochs). */
    public static BufferedImage render(String title, String xLabel, String yLabel, List<Series> series,
                                       boolean integerX, int width, int height) {
        return render(title, xLabel, yLabel, series, integerX, width, height, true);
    }

    /** As above; {@code text == false} draws no text at all (what happens when no font can be loaded). */
    static BufferedImage render(String title, String xLabel, String yLabel, List<Series> series, boolean integerX,
                                int width, int height, boolean text) {
        if (width < LEFT + RIGHT + 20 || height < TOP + BOTTOM + 20)
            throw new IllegalArgumentException("a plot needs at least " + (LEFT + RIGHT + 20) + "x" + (TOP + BOTTOM + 20)
                    + " pixels, got " + width + "x" + height);
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            new Chart(g, new Text(g, text), width, height, series, integerX).draw(title, xLabel, yLabel);
        } finally {
            g.dispose();
        }
        return img;
    }

    /** Writes {@code img} as a PNG, atomically. */
    public static void writePng(BufferedImage img, Path file) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        if (!ImageIO.write(img, "png", bytes)) throw new IOException("no PNG writer in this Java runtime");
        AtomicFile.write(file, bytes.toByteArray(), CREATE_DIRECTORIES, READABLE_BY_ALL);
    }

    /** An axis range extended to whole ticks, and its ticks. */
    record Axis(double lo, double hi, double step, int decimals) {
        /** Covers [min, max] with about {@code target} ticks; a degenerate or empty range gets a small width. */
        static Axis of(double min, double max, int target, boolean integer) {
            if (!(min <= max)) { min = 0; max = 1; }                       // no finite data
            if (min == max) {
                double pad = min == 0 ? 1 : Math.abs(min) * 0.1;
                min -= pad;
                max += pad;
            }
            double step = niceStep((max - min) / target);
            if (integer) step = Math.max(1, step);
            double lo = Math.floor(min / step) * step, hi = Math.ceil(max / step) * step;
            int decimals = Math.max(0, (int) -Math.floor(Math.log10(step) + 1e-9));
            return new Axis(lo, hi, step, Math.min(decimals, 10));
        }

        /** 1, 2 or 5 times a power of ten, the first at least {@code raw}. */
        static double niceStep(double raw) {
            double p = Math.pow(10, Math.floor(Math.log10(raw)));
            double f = raw / p;
            return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
        }

        List<Double> ticks() {
            List<Double> t = new ArrayList<>();
            long n = Math.round((hi - lo) / step);
            for (long i = 0; i <= n; i++) t.add(lo + i * step);
            return t;
        }

        String label(double v) {
            if (Math.abs(v) < step * 1e-6) v = 0;                          // no "-0.00"
            return String.format(Locale.ROOT, "%." + decimals + "f", v);
        }
    }

    /** Text drawing that switches itself off at the first failure to load or use a font. */
    private static final class Text {
        private final Graphics2D g;
        private boolean ok;

        Text(Graphics2D g, boolean enabled) {
            this.g = g;
            this.ok = enabled;
        }

        /** Draws {@code s} with its anchor at (x, y): {@code ax}, {@code ay} in [0, 1] say which point of the text. */
        void draw(String s, double x, double y, double ax, double ay, double rotate) {
            if (!ok || s.isEmpty()) return;
            AffineTransform saved = g.getTransform();
            try {
                FontMetrics fm = g.getFontMetrics();
                g.translate(x, y);
                if (rotate != 0) g.rotate(rotate);
                g.setColor(Color.BLACK);
                g.drawString(s, (float) (-ax * fm.stringWidth(s)), (float) (fm.getAscent() - ay * fm.getHeight()));
            } catch (RuntimeException | Error e) {
                if (e instanceof VirtualMachineError && !(e instanceof InternalError)) throw e;
                ok = false;                                                 // no usable font: lines only
            } finally {
                g.setTransform(saved);
            }
        }

        int width(String s) {
            if (!ok) return 0;
            try {
                return g.getFontMetrics().stringWidth(s);
            } catch (RuntimeException | Error e) {
                if (e instanceof VirtualMachineError && !(e instanceof InternalError)) throw e;
                ok = false;
                return 0;
            }
        }
    }

    private record Chart(Graphics2D g, Text text, int width, int height, List<Series> series, boolean integerX) {
        void draw(String title, String xLabel, String yLabel) {
            double minX = Double.POSITIVE_INFINITY, maxX = Double.NEGATIVE_INFINITY;
            double minY = Double.POSITIVE_INFINITY, maxY = Double.NEGATIVE_INFINITY;
            for (Series s : series) {
                for (int i = 0; i < s.x().length; i++) {
                    if (!Double.isFinite(s.x()[i]) || !Double.isFinite(s.y()[i])) continue;
                    minX = Math.min(minX, s.x()[i]);
                    maxX = Math.max(maxX, s.x()[i]);
                    minY = Math.min(minY, s.y()[i]);
                    maxY = Math.max(maxY, s.y()[i]);
                }
            }
            // A little headroom, so that no curve runs along the frame (but a non-negative one keeps 0 as its floor).
            double pad = 0.03 * (maxY - minY);
            if (pad > 0) {
                minY = minY >= 0 ? Math.max(0, minY - pad) : minY - pad;
                maxY += pad;
            }
            Axis ax = Axis.of(minX, maxX, 8, integerX), ay = Axis.of(minY, maxY, 6, false);
            int x0 = LEFT, x1 = width - RIGHT, y0 = height - BOTTOM, y1 = TOP;

            g.setStroke(new BasicStroke(1f));
            for (double t : ax.ticks()) {
                double px = px(t, ax, x0, x1);
                g.setColor(new Color(0xE6E6E6));
                g.draw(new Line2D.Double(px, y0, px, y1));
                g.setColor(Color.BLACK);
                g.draw(new Line2D.Double(px, y0, px, y0 + 5));
                text.draw(ax.label(t), px, y0 + 8, 0.5, 0, 0);
            }
            for (double t : ay.ticks()) {
                double py = py(t, ay, y0, y1);
                g.setColor(new Color(0xE6E6E6));
                g.draw(new Line2D.Double(x0, py, x1, py));
                g.setColor(Color.BLACK);
                g.draw(new Line2D.Double(x0 - 5, py, x0, py));
                text.draw(ay.label(t), x0 - 8, py, 1, 0.5, 0);
            }
            g.setColor(Color.BLACK);
            g.drawRect(x0, y1, x1 - x0, y0 - y1);

            for (Series s : series) drawSeries(s, ax, ay, x0, x1, y0, y1);

            text.draw(title, width / 2.0, 12, 0.5, 0, 0);
            text.draw(xLabel, (x0 + x1) / 2.0, height - 22, 0.5, 0, 0);
            text.draw(yLabel, 14, (y0 + y1) / 2.0, 0.5, 0, -Math.PI / 2);
            legend(ax, ay, x0, x1, y0, y1);
        }

        private void drawSeries(Series s, Axis ax, Axis ay, int x0, int x1, int y0, int y1) {
            g.setColor(s.color());
            g.setStroke(new BasicStroke(s.width(), BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
            double px = Double.NaN, py = Double.NaN;
            for (int i = 0; i < s.x().length; i++) {
                if (!Double.isFinite(s.x()[i]) || !Double.isFinite(s.y()[i])) { px = Double.NaN; continue; }
                double qx = px(s.x()[i], ax, x0, x1), qy = py(s.y()[i], ay, y0, y1);
                if (!Double.isNaN(px)) g.draw(new Line2D.Double(px, py, qx, qy));
                if (s.markers()) g.drawRect((int) Math.round(qx) - 3, (int) Math.round(qy) - 3, 6, 6);
                px = qx;
                py = qy;
            }
        }

        /**
         * Line samples and names in the corner of the plot area that the curves cross least (checked along every
         * segment); nothing when there is no text.
         */
        private void legend(Axis ax, Axis ay, int x0, int x1, int y0, int y1) {
            int w = 0;
            for (Series s : series) w = Math.max(w, text.width(s.name()));
            if (w == 0) return;
            int row = 18, boxW = w + 46, boxH = row * series.size() + 6;
            int[][] corners = {{x1 - boxW - 2, y1 + 4}, {x0 + 8, y1 + 4}, {x1 - boxW - 2, y0 - boxH - 4}, {x0 + 8, y0 - boxH - 4}};
            int best = 0, fewest = Integer.MAX_VALUE;
            for (int c = 0; c < corners.length; c++) {
                int n = crossings(corners[c][0], corners[c][1], boxW, boxH, ax, ay, x0, x1, y0, y1);
                if (n < fewest) { fewest = n; best = c; }
            }
            int lx = corners[best][0] + 6, ly = corners[best][1] + 4;
            g.setColor(Color.WHITE);
            g.fillRect(lx - 6, ly - 4, boxW, boxH);
            g.setColor(Color.GRAY);
            g.setStroke(new BasicStroke(1f));
            g.drawRect(lx - 6, ly - 4, boxW, boxH);
            for (int i = 0; i < series.size(); i++) {
                Series s = series.get(i);
                double cy = ly + row * i + row / 2.0;
                g.setColor(s.color());
                g.setStroke(new BasicStroke(Math.max(2f, s.width())));
                g.draw(new Line2D.Double(lx, cy, lx + 26, cy));
                text.draw(s.name(), lx + 32, cy, 0, 0.5, 0);
            }
        }

        /** How many points, sampled along the curves, fall in the box. */
        private int crossings(int bx, int by, int bw, int bh, Axis ax, Axis ay, int x0, int x1, int y0, int y1) {
            int n = 0;
            for (Series s : series) {
                for (int i = 0; i < s.x().length; i++) {
                    if (!Double.isFinite(s.x()[i]) || !Double.isFinite(s.y()[i])) continue;
                    double qx = px(s.x()[i], ax, x0, x1), qy = py(s.y()[i], ay, y0, y1);
                    boolean joined = i > 0 && Double.isFinite(s.x()[i - 1]) && Double.isFinite(s.y()[i - 1]);
                    double rx = joined ? px(s.x()[i - 1], ax, x0, x1) : qx, ry = joined ? py(s.y()[i - 1], ay, y0, y1) : qy;
                    for (int k = 0; k <= 8; k++) {
                        double tx = rx + (qx - rx) * k / 8, ty = ry + (qy - ry) * k / 8;
                        if (tx >= bx && tx <= bx + bw && ty >= by && ty <= by + bh) n++;
                    }
                }
            }
            return n;
        }

        private static double px(double v, Axis a, int x0, int x1) { return x0 + (v - a.lo()) / (a.hi() - a.lo()) * (x1 - x0); }

        private static double py(double v, Axis a, int y0, int y1) { return y0 - (v - a.lo()) / (a.hi() - a.lo()) * (y0 - y1); }
    }
}
