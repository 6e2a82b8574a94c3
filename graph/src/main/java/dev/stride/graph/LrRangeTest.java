package dev.stride.graph;

import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleUnaryOperator;

/**
 * The learning-rate range test (Smith, "Cyclical learning rates", 2017; fastai's lr_find): train for up to
 * {@code steps} steps with the learning rate growing exponentially from {@code minLr} to {@code maxLr}, record the
 * loss smoothed by a bias-corrected exponential moving average, stop once the smoothed loss exceeds
 * {@code divergence} times the best so far (or is not finite), and suggest the learning rate where the smoothed
 * loss falls fastest against log(lr). Pure host-side arithmetic: the caller's callback runs one training step.
 *
 * <pre>{@code
 * var r = LrRangeTest.run(1e-6, 1, 100, lr -> session.run(feeds(lr)).get("loss").item());
 * double lr = r.suggestedLr();
 * }</pre>
 * The test trains: start the real run from fresh parameters afterwards.
 */
public final class LrRangeTest {
    /** Weight of the past in the moving average, fastai's default. */
    public static final double SMOOTHING = 0.98;
    /** Stop once the smoothed loss exceeds this many times the best smoothed loss. */
    public static final double DIVERGENCE = 4;

    private LrRangeTest() {}

    /** One step of the test: its learning rate, the loss the callback returned and the smoothed loss. */
    public record Point(double lr, double loss, double smoothedLoss) {}

    /** The recorded points in order and whether the test stopped early because the loss diverged. */
    public record Result(List<Point> points, boolean diverged) {
        public Result { points = List.copyOf(points); }

        /** The learning rate of the lowest smoothed loss. */
        public double minLossLr() {
            Point best = points.getFirst();
            for (Point p : points) if (p.smoothedLoss() < best.smoothedLoss()) best = p;
            return best.lr();
        }

        /**
         * The learning rate at the steepest descent of the smoothed loss against log(lr): the most negative slope,
         * central differences inside and one-sided ones at the ends (numpy.gradient). With a single point, its lr.
         */
        public double suggestedLr() {
            int n = points.size(), best = 0;
            if (n == 1) return points.getFirst().lr();
            double steepest = Double.POSITIVE_INFINITY;
            for (int i = 0; i < n; i++) {
                int lo = Math.max(i - 1, 0), hi = Math.min(i + 1, n - 1);
                double slope = (points.get(hi).smoothedLoss() - points.get(lo).smoothedLoss())
                        / (Math.log(points.get(hi).lr()) - Math.log(points.get(lo).lr()));
                if (slope < steepest) { steepest = slope; best = i; }
            }
            return points.get(best).lr();
        }
    }

    /** {@link #run(double, double, int, double, double, DoubleUnaryOperator)} with smoothing 0.98 and divergence 4. */
    public static Result run(double minLr, double maxLr, int steps, DoubleUnaryOperator trainStep) {
        return run(minLr, maxLr, steps, SMOOTHING, DIVERGENCE, trainStep);
    }

    /**
     * Runs the test. Step i (0-based) trains with lr = minLr*(maxLr/minLr)^(i/(steps-1)) by calling
     * {@code trainStep.applyAsDouble(lr)}, which must perform one training step and return its loss.
     */
    public static Result run(double minLr, double maxLr, int steps, double smoothing, double divergence,
                             DoubleUnaryOperator trainStep) {
        if (!(minLr > 0 && Double.isFinite(minLr)))
            throw new IllegalArgumentException("minLr must be finite and > 0, got " + minLr);
        if (!(maxLr > minLr && Double.isFinite(maxLr)))
            throw new IllegalArgumentException("maxLr must be finite and > minLr = " + minLr + ", got " + maxLr);
        if (steps < 2) throw new IllegalArgumentException("steps must be >= 2, got " + steps);
        if (!(smoothing >= 0 && smoothing < 1))
            throw new IllegalArgumentException("smoothing must be in [0, 1), got " + smoothing);
        if (!(divergence > 1)) throw new IllegalArgumentException("divergence must be > 1, got " + divergence);

        List<Point> points = new ArrayList<>();
        double avg = 0, best = Double.POSITIVE_INFINITY, ratio = Math.log(maxLr / minLr);
        for (int i = 0; i < steps; i++) {
            double lr = minLr * Math.exp(ratio * i / (steps - 1));
            double loss = trainStep.applyAsDouble(lr);
            if (!Double.isFinite(loss)) return new Result(points, true);
            avg = smoothing * avg + (1 - smoothing) * loss;
            double smoothed = avg / (1 - Math.pow(smoothing, i + 1));     // undoes the pull toward the initial 0
            points.add(new Point(lr, loss, smoothed));
            best = Math.min(best, smoothed);
            if (smoothed > divergence * best) return new Result(points, true);
        }
        return new Result(points, false);
    }
}
