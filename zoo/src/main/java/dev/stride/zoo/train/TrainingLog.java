package dev.stride.zoo.train;

import dev.stride.graph.io.AtomicFile;

import java.awt.Color;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static dev.stride.graph.io.AtomicFile.Option.CREATE_DIRECTORIES;
import static dev.stride.graph.io.AtomicFile.Option.READABLE_BY_ALL;

/**
 * The curves of a training run: one {@link Step} per optimizer step and one {@link Epoch} per evaluation, with
 * writers for a CSV file and PNG plots. Checkpoints carry the whole log, so a resumed run's files show the whole
 * run.
 */
public final class TrainingLog {
    /**
     * One training step: {@code step} is the global step index (0 for the first, the argument the
     * {@link dev.stride.graph.Schedule} got), {@code epoch} the 1-based epoch, {@code lr} the learning rate fed and
     * {@code loss} the plan's loss output for the batch.
     */
    public record Step(long step, int epoch, double lr, double loss) {}

    /**
     * One epoch's end: {@code lastStep} is the global index of its last step, {@code trainLoss} the mean step loss
     * of the epoch, then the test set's mean cross-entropy, accuracy and top-k accuracy (fractions in [0, 1]).
     */
    public record Epoch(int epoch, long lastStep, double trainLoss, double evalLoss, double accuracy,
                        double topKAccuracy) {}

    private final int topK;
    private final List<Step> steps = new ArrayList<>();
    private final List<Epoch> epochs = new ArrayList<>();

    public TrainingLog(int topK) {
        if (topK < 1) throw new IllegalArgumentException("top-k needs k >= 1, got " + topK);
        this.topK = topK;
    }

    TrainingLog(int topK, List<Step> steps, List<Epoch> epochs) {
        this(topK);
        this.steps.addAll(steps);
        this.epochs.addAll(epochs);
    }

    public int topK() { return topK; }

    public List<Step> steps() { return Collections.unmodifiableList(steps); }

    public List<Epoch> epochs() { return Collections.unmodifiableList(epochs); }

    void add(Step s) { steps.add(s); }

    void add(Epoch e) { epochs.add(e); }

    /** The step losses in order. */
    public double[] losses() { return steps.stream().mapToDouble(Step::loss).toArray(); }

    /** Header of {@link #csv()}. */
    public String csvHeader() {
        return "step,epoch,lr,loss,epoch_train_loss,eval_loss,eval_accuracy,eval_top" + topK + "_accuracy";
    }

    /**
     * One row per step; the epoch columns are filled on the row of each epoch's last step and empty elsewhere.
     * Numbers are written with {@link Double#toString}, which reads back to the identical double.
     */
    public String csv() {
        StringBuilder sb = new StringBuilder(csvHeader()).append('\n');
        int e = 0;
        for (Step s : steps) {
            sb.append(s.step()).append(',').append(s.epoch()).append(',').append(s.lr()).append(',').append(s.loss());
            while (e < epochs.size() && epochs.get(e).lastStep() < s.step()) e++;
            if (e < epochs.size() && epochs.get(e).lastStep() == s.step()) {
                Epoch ep = epochs.get(e);
                sb.append(',').append(ep.trainLoss()).append(',').append(ep.evalLoss()).append(',')
                        .append(ep.accuracy()).append(',').append(ep.topKAccuracy());
            } else {
                sb.append(",,,,");
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    public void writeCsv(Path file) throws IOException {
        AtomicFile.write(file, csv().getBytes(StandardCharsets.UTF_8), CREATE_DIRECTORIES, READABLE_BY_ALL);
    }

    static final int PLOT_WIDTH = 800, PLOT_HEIGHT = 480;

    /** Training loss per step (raw and smoothed) with the evaluation loss at each epoch's end. */
    public void writeLossPlot(Path file) throws IOException {
        double[] x = steps.stream().mapToDouble(Step::step).toArray();
        double[] y = losses();
        double[] smooth = smoothed(y, Math.max(1, y.length / 50));
        double[] ex = epochs.stream().mapToDouble(Epoch::lastStep).toArray();
        double[] ey = epochs.stream().mapToDouble(Epoch::evalLoss).toArray();
        var series = List.of(
                new Plot.Series("train loss", x, y, new Color(0xA6C8E8), 1f, false),
                new Plot.Series("train loss, smoothed", x, smooth, new Color(0x1F5FA8), 2f, false),
                new Plot.Series("eval loss", ex, ey, new Color(0xE0701A), 2f, true));
        Plot.writePng(Plot.render("Loss", "step", "cross-entropy", series, true, PLOT_WIDTH, PLOT_HEIGHT), file);
    }

    /** Evaluation accuracy and top-k accuracy per epoch. */
    public void writeAccuracyPlot(Path file) throws IOException {
        double[] x = epochs.stream().mapToDouble(Epoch::epoch).toArray();
        var series = List.of(
                new Plot.Series("accuracy", x, epochs.stream().mapToDouble(Epoch::accuracy).toArray(),
                        new Color(0x1F5FA8), 2f, true),
                new Plot.Series("top-" + topK + " accuracy", x,
                        epochs.stream().mapToDouble(Epoch::topKAccuracy).toArray(), new Color(0x2E9E4A), 2f, true));
        Plot.writePng(Plot.render("Test accuracy", "epoch", "accuracy", series, true, PLOT_WIDTH, PLOT_HEIGHT), file);
    }

    /** Centred moving average over 2*half+1 points (fewer at the ends), so the curve does not lag the raw one. */
    static double[] smoothed(double[] y, int half) {
        double[] sum = new double[y.length + 1];          // prefix sums of the finite values, and their counts
        int[] count = new int[y.length + 1];
        for (int i = 0; i < y.length; i++) {
            boolean finite = Double.isFinite(y[i]);
            sum[i + 1] = sum[i] + (finite ? y[i] : 0);
            count[i + 1] = count[i] + (finite ? 1 : 0);
        }
        double[] out = new double[y.length];
        for (int i = 0; i < y.length; i++) {
            int from = Math.max(0, i - half), to = Math.min(y.length, i + half + 1);
            int n = count[to] - count[from];
            out[i] = n == 0 ? Double.NaN : (sum[to] - sum[from]) / n;
        }
        return out;
    }
}
