package dev.stride.zoo.train;

import dev.stride.engine.SessionOptions;
import dev.stride.graph.DType;
import dev.stride.graph.Optimizer;
import dev.stride.graph.Schedule;
import dev.stride.graph.TrainSpec;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Objects;

/**
 * How a {@link Trainer} trains. Start from {@link #defaults()} and change what matters:
 * <pre>{@code
 * TrainerConfig.defaults().withEpochs(10).withBatchSize(64)
 *         .withTrainSpec(TrainSpec.of(new Optimizer.Adam())).withSchedule(new Schedule.CosineWarmup(1e-3, 100, 9000, 0))
 *         .withCheckpointDir(Path.of("runs/a")).withCheckpointEvery(500)
 *         .withEarlyStopping(EarlyStopping.onEvalLoss(3, 1e-4)).withLogDir(Path.of("runs/a"))
 * }</pre>
 *
 * @param epochs          passes over the training set
 * @param batchSize       training batch (the plan is compiled for it; a ragged last batch is dropped)
 * @param schedule        learning rate of each global step, fed as the plan input "lr"
 * @param trainSpec       optimizer, frozen parameters, lr groups and clipping compiled into the training plan
 * @param seed            parameter initialisation and data shuffling
 * @param checkpointDir   where {@link Trainer#CHECKPOINT_FILE} is written at every epoch end and every
 *                        {@code checkpointEvery} steps; null for none
 * @param checkpointEvery steps between checkpoints inside an epoch; 0 for epoch ends only
 * @param earlyStopping   when to stop and whether to restore the best epoch's weights ({@link EarlyStopping#off()})
 * @param logDir          where the CSV log and the PNG plots are (re)written at every epoch end; null for none
 * @param topK            k of the top-k accuracy metric
 * @param evalBatchSize   batch of the inference plan that evaluates the test set
 * @param dtype           element type of both plans
 * @param backend         backend the sessions run on
 * @param threads         worker threads of the sessions
 * @param progress        where the progress bar and epoch summaries go; null for silence
 */
public record TrainerConfig(int epochs, int batchSize, Schedule schedule, TrainSpec trainSpec, long seed,
                            Path checkpointDir, long checkpointEvery, EarlyStopping earlyStopping, Path logDir,
                            int topK, int evalBatchSize, DType dtype, String backend, int threads,
                            PrintStream progress) {
    public TrainerConfig {
        if (epochs < 1) throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
        if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        Objects.requireNonNull(schedule, "schedule");
        Objects.requireNonNull(trainSpec, "trainSpec");
        if (checkpointEvery < 0) throw new IllegalArgumentException("checkpointEvery must be >= 0, got " + checkpointEvery);
        Objects.requireNonNull(earlyStopping, "earlyStopping (EarlyStopping.off() for none)");
        if (topK < 1) throw new IllegalArgumentException("top-k needs k >= 1, got " + topK);
        if (evalBatchSize < 1) throw new IllegalArgumentException("eval batch size must be >= 1, got " + evalBatchSize);
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(backend, "backend");
        if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }

    /**
     * One epoch, batch 32, constant learning rate 0.01, SGD with momentum 0.9, seed 1, no checkpoints, no early
     * stopping, no log files, top-5, evaluation batch 256, F32, the reference backend with
     * {@link SessionOptions#defaults()}'s threads, progress on standard output.
     */
    public static TrainerConfig defaults() {
        return new TrainerConfig(1, 32, constant(0.01), TrainSpec.of(new Optimizer.Sgd(0.9, 0, false)), 1, null, 0,
                EarlyStopping.off(), null, 5, 256, DType.F32, "reference", SessionOptions.defaults().threads(), System.out);
    }

    /** A schedule that always gives {@code lr}. */
    public static Schedule constant(double lr) {
        if (!(lr >= 0 && Double.isFinite(lr))) throw new IllegalArgumentException("learning rate must be finite and >= 0, got " + lr);
        return step -> lr;
    }

    public TrainerConfig withEpochs(int v) {
        return new TrainerConfig(v, batchSize, schedule, trainSpec, seed, checkpointDir, checkpointEvery, earlyStopping,
                logDir, topK, evalBatchSize, dtype, backend, threads, progress);
    }

    public TrainerConfig withBatchSize(int v) {
        return new TrainerConfig(epochs, v, schedule, trainSpec, seed, checkpointDir, checkpointEvery, earlyStopping,
                logDir, topK, evalBatchSize, dtype, backend, threads, progress);
    }

    public TrainerConfig withSchedule(Schedule v) {
        return new TrainerConfig(epochs, batchSize, v, trainSpec, seed, checkpointDir, checkpointEvery, earlyStopping,
                logDir, topK, evalBatchSize, dtype, backend, threads, progress);
    }

    /** A constant learning rate. */
    public TrainerConfig withLr(double lr) { return withSchedule(constant(lr)); }

    public TrainerConfig withTrainSpec(TrainSpec v) {
        return new TrainerConfig(epochs, batchSize, schedule, v, seed, checkpointDir, checkpointEvery, earlyStopping,
                logDir, topK, evalBatchSize, dtype, backend, threads, progress);
    }

    /** The optimizer, keeping the rest of the train spec. */
    public TrainerConfig withOptimizer(Optimizer o) { return withTrainSpec(trainSpec.withOptimizer(o)); }

    public TrainerConfig withSeed(long v) {
        return new TrainerConfig(epochs, batchSize, schedule, trainSpec, v, checkpointDir, checkpointEvery, earlyStopping,
                logDir, topK, evalBatchSize, dtype, backend, threads, progress);
    }

    public TrainerConfig withCheckpointDir(Path v) {
        return new TrainerConfig(epochs, batchSize, schedule, trainSpec, seed, v, checkpointEvery, earlyStopping,
                logDir, topK, evalBatchSize, dtype, backend, threads, progress);
    }

    public TrainerConfig withCheckpointEvery(long v) {
        return new TrainerConfig(epochs, batchSize, schedule, trainSpec, seed, checkpointDir, v, earlyStopping,
                logDir, topK, evalBatchSize, dtype, backend, threads, progress);
    }

    public TrainerConfig withEarlyStopping(EarlyStopping v) {
        return new TrainerConfig(epochs, batchSize, schedule, trainSpec, seed, checkpointDir, checkpointEvery, v,
                logDir, topK, evalBatchSize, dtype, backend, threads, progress);
    }

    public TrainerConfig withLogDir(Path v) {
        return new TrainerConfig(epochs, batchSize, schedule, trainSpec, seed, checkpointDir, checkpointEvery,
                earlyStopping, v, topK, evalBatchSize, dtype, backend, threads, progress);
    }

    public TrainerConfig withTopK(int v) {
        return new TrainerConfig(epochs, batchSize, schedule, trainSpec, seed, checkpointDir, checkpointEvery,
                earlyStopping, logDir, v, evalBatchSize, dtype, backend, threads, progress);
    }

    public TrainerConfig withEvalBatchSize(int v) {
        return new TrainerConfig(epochs, batchSize, schedule, trainSpec, seed, checkpointDir, checkpointEvery,
                earlyStopping, logDir, topK, v, dtype, backend, threads, progress);
    }

    public TrainerConfig withDtype(DType v) {
        return new TrainerConfig(epochs, batchSize, schedule, trainSpec, seed, checkpointDir, checkpointEvery,
                earlyStopping, logDir, topK, evalBatchSize, v, backend, threads, progress);
    }

    public TrainerConfig withBackend(String v) {
        return new TrainerConfig(epochs, batchSize, schedule, trainSpec, seed, checkpointDir, checkpointEvery,
                earlyStopping, logDir, topK, evalBatchSize, dtype, v, threads, progress);
    }

    public TrainerConfig withThreads(int v) {
        return new TrainerConfig(epochs, batchSize, schedule, trainSpec, seed, checkpointDir, checkpointEvery,
                earlyStopping, logDir, topK, evalBatchSize, dtype, backend, v, progress);
    }

    /** Where progress goes; null for silence. */
    public TrainerConfig withProgress(PrintStream v) {
        return new TrainerConfig(epochs, batchSize, schedule, trainSpec, seed, checkpointDir, checkpointEvery,
                earlyStopping, logDir, topK, evalBatchSize, dtype, backend, threads, v);
    }
}
