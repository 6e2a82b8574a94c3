package dev.stride.zoo.train;

import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.zoo.Classifier;
import dev.stride.zoo.data.Batches;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * Trains an image classifier defined as a function (builder, images) -> logits, the way {@link Classifier} builds
 * its plans: a training plan (inputs images, labels, lr; outputs loss, logits; one run is one optimizer step of
 * the config's {@link dev.stride.graph.TrainSpec}) and an inference plan that evaluates the test set after every
 * epoch with the training session's weights ({@link Session#copyPersistentFrom}).
 *
 * <p>Each epoch visits the training set in a seeded shuffle ({@link Batches}, ragged last batch dropped); step
 * {@code s} (counted over the whole run from 0) is fed learning rate {@code schedule.lr(s)}. After each epoch the
 * trainer records the mean training loss and the test set's cross-entropy, accuracy and top-k accuracy
 * ({@link TrainingLog}), applies {@link EarlyStopping}, rewrites the CSV and the plots when a log directory is set,
 * and writes a checkpoint when a checkpoint directory is set (also every {@code checkpointEvery} steps).
 *
 * <p>A checkpoint holds everything that decides what happens next, so a run resumed from it with
 * {@link #resume} takes the same steps with the same data, learning rates and random streams as the run that wrote
 * it: on the reference backend, and on the cpu backend whatever the thread counts before and after, its losses,
 * evaluations and final weights are bit for bit those of an uninterrupted run (TrainerResumeTest).
 *
 * <pre>{@code
 * try (Trainer t = Trainer.create(LeNet5::logits, train, test, config)) {
 *     Trainer.Result r = t.fit();
 * }
 * }</pre>
 */
public final class Trainer implements AutoCloseable {
    /** File names inside the checkpoint and log directories. */
    public static final String CHECKPOINT_FILE = "checkpoint.ckpt", CSV_FILE = "training.csv",
            LOSS_PLOT = "loss.png", ACCURACY_PLOT = "accuracy.png";

    /** The test set's mean cross-entropy, accuracy and top-k accuracy over {@code samples} images. */
    public record Evaluation(double loss, double accuracy, double topKAccuracy, int samples) {}

    /** How a run ended: its log, whether early stopping ended it, and the best epoch (1-based) by the watched metric. */
    public record Result(TrainingLog log, boolean stoppedEarly, int bestEpoch, double bestMetric, long steps) {}

    private final TrainerConfig config;
    private final Batches.Dataset train, test;
    private final Plan trainPlan, evalPlan;
    private final Session session, eval;
    private final Batches batches;
    private final int batchesPerEpoch, classes, evalBatch;
    private final long dataSeed;
    private final float[] images, labels, evalImages, evalLabels;
    private final Tensor imagesT, labelsT, evalImagesT;

    private TrainingLog log;
    private EarlyStopping.Tracker tracker = EarlyStopping.Tracker.START;
    private Map<String, byte[]> best;            // persistent tensors of the best epoch, when restoreBest
    private long globalStep;
    private int epoch, batch;                    // epoch in progress (0-based) and its next batch
    private boolean stoppedEarly;
    private double runningLoss;                  // exponential moving average of the loss, from 0, not bias-corrected
    private List<int[]> order;                   // the batches of the epoch in progress
    private Progress progress;

    private Trainer(BiFunction<GraphBuilder, Value, Value> model, Batches.Dataset train, Batches.Dataset test,
                    TrainerConfig config, long dataSeed) {
        this.config = config;
        this.train = train;
        this.test = test;
        this.dataSeed = dataSeed;
        int[] chw = train.imageShape();
        if (chw.length != 3) throw new IllegalArgumentException("training images must be [C, H, W], got " + Arrays.toString(chw));
        if (!Arrays.equals(chw, test.imageShape()))
            throw new IllegalArgumentException("test images are " + Arrays.toString(test.imageShape())
                    + ", training images " + Arrays.toString(chw));
        if (test.size() < 1) throw new IllegalArgumentException("the test set is empty");
        int b = config.batchSize();
        this.batches = new Batches(train.size(), b, true, dataSeed);
        this.batchesPerEpoch = batches.count();
        if (batchesPerEpoch < 1)
            throw new IllegalArgumentException("the training set of " + train.size() + " samples holds no full batch of " + b);
        this.evalBatch = Math.min(config.evalBatchSize(), test.size());

        var target = dev.stride.engine.Backend.named(config.backend()).target(); // compiled for where it runs
        this.trainPlan = Classifier.trainingPlan(model, Shape.of(b, chw[0], chw[1], chw[2]), config.dtype(),
                config.trainSpec(), target);
        this.evalPlan = Classifier.inferencePlan(model, Shape.of(evalBatch, chw[0], chw[1], chw[2]), config.dtype(), target);
        Shape logits = trainPlan.graph().outputs().get(Classifier.LOGITS).shape();
        if (logits.rank() != 2 || logits.dim(0) != b)
            throw new IllegalArgumentException("the model's logits must be [batch, classes] = [" + b + ", C], got " + logits);
        this.classes = logits.dim(1);

        SessionOptions options = SessionOptions.defaults().withSeed(config.seed()).withThreads(config.threads());
        this.session = Session.open(trainPlan, config.backend(), options);
        try {
            this.eval = Session.open(evalPlan, config.backend(), options);
        } catch (RuntimeException e) {
            session.close();
            throw e;
        }
        int pixels = chw[0] * chw[1] * chw[2];
        this.images = new float[b * pixels];
        this.labels = new float[b];
        this.imagesT = Tensor.of(Shape.of(b, chw[0], chw[1], chw[2]), images);
        this.labelsT = Tensor.of(Shape.of(b), labels);
        this.evalImages = new float[evalBatch * pixels];
        this.evalLabels = new float[evalBatch];
        this.evalImagesT = Tensor.of(Shape.of(evalBatch, chw[0], chw[1], chw[2]), evalImages);
        this.log = new TrainingLog(config.topK());
    }

    /** A fresh run: parameters initialised from the config's seed, data shuffled with it. */
    public static Trainer create(BiFunction<GraphBuilder, Value, Value> model, Batches.Dataset train,
                                 Batches.Dataset test, TrainerConfig config) {
        return new Trainer(model, train, test, config, config.seed());
    }

    /**
     * Continues the run that wrote {@code checkpoint}. The model, data and config must be those of that run (the
     * epoch count, directories, progress output and early-stopping patience may change); what can be checked is:
     * dtype, batch size, batches per epoch, top-k, the watched metric, and every persistent tensor's name and
     * shape.
     */
    public static Trainer resume(BiFunction<GraphBuilder, Value, Value> model, Batches.Dataset train,
                                 Batches.Dataset test, TrainerConfig config, Path checkpoint) throws IOException {
        Checkpoint ck = Checkpoint.load(checkpoint);
        String where = "checkpoint " + checkpoint + " does not fit this trainer: ";
        if (ck.dtype() != config.dtype())
            throw new IllegalArgumentException(where + "it holds " + ck.dtype() + " tensors, the config asks for " + config.dtype());
        if (ck.batchSize() != config.batchSize())
            throw new IllegalArgumentException(where + "it was written with batch size " + ck.batchSize()
                    + ", the config has " + config.batchSize());
        if (ck.topK() != config.topK())
            throw new IllegalArgumentException(where + "its log has top-" + ck.topK() + " accuracy, the config asks for top-"
                    + config.topK());
        if (ck.metric() != config.earlyStopping().metric())
            throw new IllegalArgumentException(where + "its best epoch is by " + ck.metric() + ", the config watches "
                    + config.earlyStopping().metric());
        Trainer t = new Trainer(model, train, test, config, ck.dataSeed());
        try {
            t.restore(ck, where);
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    private void restore(Checkpoint ck, String where) {
        if (ck.batchesPerEpoch() != batchesPerEpoch)
            throw new IllegalArgumentException(where + "it has " + ck.batchesPerEpoch() + " batches per epoch, this training set "
                    + "of " + train.size() + " samples gives " + batchesPerEpoch);
        Map<String, byte[]> state = CheckpointTensors.check(ck.state(), where, "state", trainPlan.graph());
        CheckpointTensors.requireComplete(state.keySet(), where, trainPlan.graph());
        Map<String, byte[]> bestState = ck.bestState().isEmpty() ? null
                : CheckpointTensors.check(ck.bestState(), where, "best state", trainPlan.graph());
        write(state);
        session.setStep(ck.sessionStep());
        globalStep = ck.globalStep();
        epoch = ck.epoch();
        batch = ck.batch();
        stoppedEarly = ck.stoppedEarly();
        runningLoss = ck.runningLoss();
        tracker = ck.tracker();
        best = config.earlyStopping().restoreBest() ? bestState : null;
        log = new TrainingLog(ck.topK(), ck.steps(), ck.epochs());
    }

    /** Overwrites the training session's persistent tensors with {@code values} (bytes in the plan's dtype). */
    private void write(Map<String, byte[]> values) { CheckpointTensors.restore(session, values); }

    // ---------------------------------------------------------------------------------------------- train

    /** Trains to the end (the config's epochs or early stopping). */
    public Result fit() throws IOException {
        run(Long.MAX_VALUE);
        return result();
    }

    /**
     * Trains at most {@code maxSteps} more steps, evaluating (and checkpointing, logging) at every epoch end it
     * reaches, including one that the last step completes. Returns whether training is finished.
     */
    public boolean run(long maxSteps) throws IOException {
        for (long done = 0; !finished() && done < maxSteps; done++) {
            step();
            if (batch == batchesPerEpoch) {
                endEpoch();
            } else if (config.checkpointDir() != null && config.checkpointEvery() > 0
                    && globalStep % config.checkpointEvery() == 0) {
                checkpoint(config.checkpointDir().resolve(CHECKPOINT_FILE));
            }
        }
        return finished();
    }

    private void step() {
        if (order == null) order = batches.epoch(epoch);
        PrintStream out = config.progress();
        if (progress == null && out != null)
            progress = new Progress(out, "epoch " + (epoch + 1) + "/" + config.epochs(), batchesPerEpoch - batch,
                    config.batchSize());
        train.batch(order.get(batch), images, labels);
        double lr = config.schedule().lr(globalStep);
        Map<String, Tensor> r = session.run(Map.of(Classifier.IMAGES, imagesT, Classifier.LABELS, labelsT,
                Classifier.LR, Tensor.scalar(trainPlan.graph().dtype(), lr)));
        double loss = r.get(Classifier.LOSS).item();
        if (!Double.isFinite(loss))
            throw new IllegalStateException("loss became " + loss + " at step " + globalStep + " (epoch " + (epoch + 1)
                    + ", batch " + (batch + 1) + ") with learning rate " + lr + "; lower the learning rate");
        log.add(new TrainingLog.Step(globalStep, epoch + 1, lr, loss));
        runningLoss = LOSS_DECAY * runningLoss + (1 - LOSS_DECAY) * loss;
        globalStep++;
        batch++;
        if (progress != null) progress.step(String.format("loss %.4f  lr %.3g", runningLoss(), lr));
    }

    private void endEpoch() throws IOException {
        if (progress != null) progress.done();
        progress = null;
        order = null;
        Evaluation ev = evaluate();
        List<TrainingLog.Step> steps = log.steps();
        double sum = 0;
        int n = 0;
        for (int i = steps.size() - 1; i >= 0 && steps.get(i).epoch() == epoch + 1; i--, n++) sum += steps.get(i).loss();
        TrainingLog.Epoch record = new TrainingLog.Epoch(epoch + 1, globalStep - 1, sum / n, ev.loss(), ev.accuracy(),
                ev.topKAccuracy());
        log.add(record);

        EarlyStopping rule = config.earlyStopping();
        tracker = tracker.observe(rule, epoch + 1, rule.metric().of(record));
        EarlyStopping.Verdict verdict = tracker.verdict(rule);
        if (verdict == EarlyStopping.Verdict.IMPROVED && rule.restoreBest()) best = session.snapshot().tensors();
        epoch++;
        batch = 0;
        if (verdict == EarlyStopping.Verdict.STOP) stoppedEarly = true;

        PrintStream out = config.progress();
        if (out != null)
            out.printf("epoch %d/%d: train loss %.4f, test loss %.4f, accuracy %.2f%%, top-%d %.2f%% (best: epoch %d)%n",
                    epoch, config.epochs(), record.trainLoss(), ev.loss(), 100 * ev.accuracy(), config.topK(),
                    100 * ev.topKAccuracy(), tracker.bestEpoch());
        if (finished() && best != null) {
            write(best);
            if (out != null) out.printf("restored the weights of epoch %d%n", tracker.bestEpoch());
        }
        if (stoppedEarly && out != null)
            out.printf("early stopping: %s did not improve for %d epochs%n", rule.metric(), tracker.epochsWithoutImprovement());
        if (config.logDir() != null) writeLogs(config.logDir());
        if (config.checkpointDir() != null) checkpoint(config.checkpointDir().resolve(CHECKPOINT_FILE));
    }

    /** Evaluates the training session's current weights on the test set (every sample, a ragged tail included). */
    public Evaluation evaluate() {
        eval.copyPersistentFrom(session);
        int n = test.size(), k = config.topK();
        int[] idx = new int[evalBatch];
        double lossSum = 0;
        int correct = 0, topK = 0;
        for (int start = 0; start < n; start += evalBatch) {
            int valid = Math.min(evalBatch, n - start);
            // The plan's batch is fixed: a ragged tail is padded with its last sample, and the padding not counted.
            for (int i = 0; i < evalBatch; i++) idx[i] = start + Math.min(i, valid - 1);
            test.batch(idx, evalImages, evalLabels);
            float[] logits = eval.run(Map.of(Classifier.IMAGES, evalImagesT)).get(Classifier.LOGITS).toFloatArray();
            for (int i = 0; i < valid; i++) {
                int y = Metrics.label(evalLabels, i);
                lossSum += Metrics.crossEntropy(logits, i, classes, y);
                int rank = Metrics.rank(logits, i, classes, y);
                if (rank == 0) correct++;
                if (rank < k) topK++;
            }
        }
        return new Evaluation(lossSum / n, (double) correct / n, (double) topK / n, n);
    }

    // ------------------------------------------------------------------------------------------- outputs

    /** Everything needed to continue from here: see {@link Checkpoint}. */
    public Checkpoint checkpointState() {
        return new Checkpoint(trainPlan.graph().dtype(), config.batchSize(), batchesPerEpoch, dataSeed, config.topK(),
                session.step(), globalStep, epoch, batch, stoppedEarly, runningLoss, config.earlyStopping().metric(),
                tracker, log.steps(), log.epochs(), entries(session.snapshot().tensors()),
                best == null ? Map.of() : entries(best));
    }

    /** Writes {@link #checkpointState} to {@code file}, atomically. */
    public void checkpoint(Path file) throws IOException { checkpointState().save(file); }

    private Map<String, Checkpoint.Entry> entries(Map<String, byte[]> values) {
        return CheckpointTensors.entries(trainPlan.graph(), values);
    }

    /** Writes {@link #CSV_FILE}, {@link #LOSS_PLOT} and {@link #ACCURACY_PLOT} into {@code dir}, each atomically. */
    public void writeLogs(Path dir) throws IOException {
        log.writeCsv(dir.resolve(CSV_FILE));
        log.writeLossPlot(dir.resolve(LOSS_PLOT));
        log.writeAccuracyPlot(dir.resolve(ACCURACY_PLOT));
    }

    /** Decay of the running loss: it averages roughly the last 1/(1 - decay) = 20 steps. */
    static final double LOSS_DECAY = 0.95;

    /**
     * The running loss the progress bar shows: the moving average with Adam's bias correction, so the first steps
     * are not pulled towards the average's starting 0; NaN before any step.
     */
    public double runningLoss() {
        return globalStep == 0 ? Double.NaN : runningLoss / (1 - Math.pow(LOSS_DECAY, globalStep));
    }

    public Result result() {
        return new Result(log, stoppedEarly, tracker.bestEpoch(), tracker.best(), globalStep);
    }

    public TrainingLog log() { return log; }

    public TrainerConfig config() { return config; }

    /** The training session (its parameters are the trained model). */
    public Session session() { return session; }

    /** The inference session; it holds the weights of the last evaluation. */
    public Session inferenceSession() { return eval; }

    public Plan trainingPlan() { return trainPlan; }

    public Plan inferencePlan() { return evalPlan; }

    /** Steps taken over the whole run: the schedule's next argument. */
    public long globalStep() { return globalStep; }

    /** The epoch in progress, 0-based (equal to the epoch count once training has finished normally). */
    public int epoch() { return epoch; }

    /** The next batch of the epoch in progress. */
    public int batchInEpoch() { return batch; }

    public int batchesPerEpoch() { return batchesPerEpoch; }

    public boolean stoppedEarly() { return stoppedEarly; }

    public EarlyStopping.Tracker tracker() { return tracker; }

    public boolean finished() { return stoppedEarly || epoch >= config.epochs(); }

    @Override public void close() {
        try {
            session.close();
        } finally {
            eval.close();
        }
    }
}
