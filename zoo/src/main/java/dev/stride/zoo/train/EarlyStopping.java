package dev.stride.zoo.train;

import java.util.Objects;

/**
 * When to stop training: after {@code patience} consecutive epochs whose evaluation {@code metric} did not improve
 * on the best so far by more than {@code minDelta} (Keras's EarlyStopping). With {@code restoreBest}, the trainer
 * keeps a copy of the training session's persistent state (weights, optimizer state, running statistics) from the
 * best epoch and puts it back when training ends, early or not.
 *
 * <p>{@link #off()} never stops and keeps no copy; the best epoch is still tracked for the record.
 */
public record EarlyStopping(Metric metric, int patience, double minDelta, boolean restoreBest) {
    /** The evaluation metric watched, and which way is better. */
    public enum Metric {
        EVAL_LOSS(false), ACCURACY(true), TOP_K_ACCURACY(true);

        final boolean higherIsBetter;

        Metric(boolean higherIsBetter) { this.higherIsBetter = higherIsBetter; }

        public boolean higherIsBetter() { return higherIsBetter; }

        /** This metric of an epoch's evaluation. */
        public double of(TrainingLog.Epoch e) {
            return switch (this) {
                case EVAL_LOSS -> e.evalLoss();
                case ACCURACY -> e.accuracy();
                case TOP_K_ACCURACY -> e.topKAccuracy();
            };
        }
    }

    public EarlyStopping {
        Objects.requireNonNull(metric, "metric");
        if (patience < 1) throw new IllegalArgumentException("patience must be >= 1 epoch, got " + patience);
        if (!(minDelta >= 0 && Double.isFinite(minDelta)))
            throw new IllegalArgumentException("minDelta must be finite and >= 0, got " + minDelta);
    }

    /** Stop after {@code patience} epochs without the evaluation loss falling by more than {@code minDelta}. */
    public static EarlyStopping onEvalLoss(int patience, double minDelta) {
        return new EarlyStopping(Metric.EVAL_LOSS, patience, minDelta, true);
    }

    /** Never stops, keeps no copy of the weights; the best epoch (by evaluation loss) is still tracked. */
    public static EarlyStopping off() { return new EarlyStopping(Metric.EVAL_LOSS, Integer.MAX_VALUE, 0, false); }

    public boolean enabled() { return patience != Integer.MAX_VALUE; }

    public EarlyStopping withMetric(Metric m) { return new EarlyStopping(m, patience, minDelta, restoreBest); }

    public EarlyStopping withPatience(int p) { return new EarlyStopping(metric, p, minDelta, restoreBest); }

    public EarlyStopping withMinDelta(double d) { return new EarlyStopping(metric, patience, d, restoreBest); }

    public EarlyStopping withRestoreBest(boolean r) { return new EarlyStopping(metric, patience, minDelta, r); }

    /** Whether {@code value} improves on {@code best} by more than minDelta. Anything beats NaN; NaN beats nothing. */
    public boolean improves(double value, double best) {
        if (Double.isNaN(value)) return false;
        if (Double.isNaN(best)) return true;
        return metric.higherIsBetter ? value > best + minDelta : value < best - minDelta;
    }

    /** What one epoch's evaluation means for training. */
    public enum Verdict { IMPROVED, NOT_IMPROVED, STOP }

    /**
     * The running state: best value and its epoch (1-based; 0 before any), and the epochs since the best. A plain
     * value so that a checkpoint can store it and a resumed run decides exactly as the uninterrupted one.
     */
    public record Tracker(double best, int bestEpoch, int epochsWithoutImprovement) {
        public static final Tracker START = new Tracker(Double.NaN, 0, 0);

        /** The state after epoch {@code epoch} scored {@code value}; {@link #verdict} says what it meant. */
        public Tracker observe(EarlyStopping rule, int epoch, double value) {
            if (rule.improves(value, best)) return new Tracker(value, epoch, 0);
            return new Tracker(best, bestEpoch, epochsWithoutImprovement + 1);
        }

        /** The verdict on the epoch that produced this state. */
        public Verdict verdict(EarlyStopping rule) {
            if (epochsWithoutImprovement == 0) return Verdict.IMPROVED;
            return epochsWithoutImprovement >= rule.patience() ? Verdict.STOP : Verdict.NOT_IMPROVED;
        }
    }
}
