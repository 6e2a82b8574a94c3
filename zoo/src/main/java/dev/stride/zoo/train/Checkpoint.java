package dev.stride.zoo.train;

import dev.stride.graph.DType;
import dev.stride.graph.io.AtomicFile;
import dev.stride.graph.io.BodyReader;
import dev.stride.graph.io.BodyWriter;
import dev.stride.graph.io.FramedFile;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import static dev.stride.graph.io.AtomicFile.Option.CREATE_DIRECTORIES;
import static dev.stride.graph.io.AtomicFile.Option.READABLE_BY_ALL;

/**
 * Everything a {@link Trainer} needs to continue a run exactly where it was: the training session's persistent
 * tensors (parameters, optimizer moments and step counters such as {@code adam/t}, batch-norm running statistics),
 * the session's run counter (the position of dropout and noise streams), the position in the data (epoch and next
 * batch, the shuffle seed), the schedule's global step, the whole {@link TrainingLog}, the early-stopping state and,
 * when the trainer keeps one, the copy of the best epoch's tensors.
 *
 * <p>The file, little-endian, has the 24-byte header of every Stride binary file ({@link FramedFile}, as a plan
 * file): magic, ASCII {@code STRIDECK}; u32 format version ({@link #FORMAT_VERSION}); u32 CRC32C of the body; u64
 * body length n; then the n-byte body, and nothing after it.
 * Body fields in order ({@code str} = i32 byte count + UTF-8; {@code bytes} = i32 count + raw bytes; f64 as raw
 * IEEE bits): str dtype; i32 batchSize; i32 batchesPerEpoch; i64 dataSeed; i32 topK; i64 sessionStep;
 * i64 globalStep; i32 epoch; i32 batch; u8 stoppedEarly; f64 runningLoss; str early-stopping metric; f64 best;
 * i32 bestEpoch; i32 epochsWithoutImprovement; i32 count + steps (i64 step, i32 epoch, f64 lr, f64 loss);
 * i32 count + epochs (i32 epoch, i64 lastStep, f64 trainLoss, f64 evalLoss, f64 accuracy, f64 topKAccuracy);
 * then two tensor sets, the state and the best state (possibly empty), each i32 count + (str name,
 * i32 rank + i32 dims, bytes data in the dtype), as {@link CheckpointTensors} stores every checkpoint's tensors.
 *
 * <p>Reading trusts nothing the checksum lets through: every count is checked against the bytes that remain
 * before anything is allocated for it, and every failure is a {@link CheckpointFormatException} naming the file.
 *
 * @param epoch the 0-based epoch in progress; {@code batch} is the next batch of it to train (0 at an epoch start)
 */
public record Checkpoint(DType dtype, int batchSize, int batchesPerEpoch, long dataSeed, int topK,
                         long sessionStep, long globalStep, int epoch, int batch, boolean stoppedEarly,
                         double runningLoss, EarlyStopping.Metric metric, EarlyStopping.Tracker tracker,
                         List<TrainingLog.Step> steps, List<TrainingLog.Epoch> epochs,
                         Map<String, Entry> state, Map<String, Entry> bestState) {

    /** One stored tensor: its shape and its little-endian bytes in the checkpoint's dtype. */
    public record Entry(int[] dims, byte[] data) {
        public Entry {
            dims = dims.clone();
        }

        @Override public int[] dims() { return dims.clone(); }
    }

    public static final int FORMAT_VERSION = 1;
    public static final int HEADER_BYTES = FramedFile.HEADER_BYTES;
    /** A checkpoint is read into one array: just under 2 GiB. */
    static final int MAX_FILE_BYTES = FramedFile.MAX_FILE_BYTES;

    /** Magic, version, checksum and length: the framing checkpoints share with plan files. */
    private static final FramedFile<CheckpointFormatException> FRAME = new FramedFile<>("STRIDECK", FORMAT_VERSION,
            "checkpoint", "checkpoint", CheckpointFormatException::new);

    public Checkpoint {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(metric, "metric");
        Objects.requireNonNull(tracker, "tracker");
        steps = List.copyOf(steps);
        epochs = List.copyOf(epochs);
        state = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(state));
        bestState = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(bestState));
    }

    // ---------------------------------------------------------------------------------------------- write

    /** Writes the checkpoint atomically (temporary file in the same directory, forced, renamed over {@code file}). */
    public void save(Path file) throws IOException {
        AtomicFile.write(file, toBytes(), CREATE_DIRECTORIES, READABLE_BY_ALL);
    }

    public byte[] toBytes() {
        long size = bodySize();   // exact: the buffer is allocated once, and a checkpoint too large fails up front
        BodyWriter body = FRAME.writer((int) size);
        body.str(dtype.name());
        body.i32(batchSize).i32(batchesPerEpoch).i64(dataSeed).i32(topK);
        body.i64(sessionStep).i64(globalStep).i32(epoch).i32(batch);
        body.bool(stoppedEarly).f64(runningLoss);
        body.str(metric.name());
        body.f64(tracker.best()).i32(tracker.bestEpoch()).i32(tracker.epochsWithoutImprovement());
        body.i32(steps.size());
        for (TrainingLog.Step s : steps) body.i64(s.step()).i32(s.epoch()).f64(s.lr()).f64(s.loss());
        body.i32(epochs.size());
        for (TrainingLog.Epoch e : epochs)
            body.i32(e.epoch()).i64(e.lastStep()).f64(e.trainLoss()).f64(e.evalLoss())
                    .f64(e.accuracy()).f64(e.topKAccuracy());
        CheckpointTensors.write(body, state);
        CheckpointTensors.write(body, bestState);
        if (body.bodyLength() != size) throw new AssertionError("checkpoint body size miscounted");
        return FRAME.toBytes(body);
    }

    private long bodySize() {
        long n = strSize(dtype.name()) + 4 + 4 + 8 + 4 + 8 + 8 + 4 + 4 + 1 + 8 + strSize(metric.name()) + 8 + 4 + 4;
        n += 4 + 28L * steps.size() + 4 + 44L * epochs.size();
        n += CheckpointTensors.size(state) + CheckpointTensors.size(bestState);
        if (n > MAX_FILE_BYTES - HEADER_BYTES)
            throw new IllegalArgumentException("checkpoint of " + n + " bytes is larger than one file can hold ("
                    + MAX_FILE_BYTES + ")");
        return n;
    }

    private static long strSize(String s) { return 4 + s.getBytes(StandardCharsets.UTF_8).length; }

    // ----------------------------------------------------------------------------------------------- read

    /** Reads and checks a checkpoint file; anything that does not make sense is a {@link CheckpointFormatException}. */
    public static Checkpoint load(Path file) throws IOException {
        return decode(FRAME.read(file));
    }

    /** Decodes the bytes {@link #toBytes} made. */
    public static Checkpoint fromBytes(byte[] bytes) throws CheckpointFormatException {
        return decode(FRAME.open(bytes, "checkpoint bytes"));
    }

    private static Checkpoint decode(BodyReader<CheckpointFormatException> in) throws CheckpointFormatException {
        DType dtype = in.enumName(DType.class, "dtype");
        int batchSize = in.i32("batch size");
        int batchesPerEpoch = in.i32("batches per epoch");
        long dataSeed = in.i64("data seed");
        int topK = in.i32("top-k");
        long sessionStep = in.i64("session step");
        long globalStep = in.i64("global step");
        int epoch = in.i32("epoch");
        int batch = in.i32("batch");
        boolean stoppedEarly = in.bool("stopped-early flag");
        double runningLoss = in.f64("running loss");
        EarlyStopping.Metric metric = in.enumName(EarlyStopping.Metric.class, "early-stopping metric");
        var tracker = new EarlyStopping.Tracker(in.f64("best metric"), in.i32("best epoch"), in.i32("epochs without improvement"));
        if (batchSize < 1 || batchesPerEpoch < 1 || topK < 1 || sessionStep < 0 || globalStep < 0 || epoch < 0
                || batch < 0 || batch >= batchesPerEpoch || tracker.bestEpoch() < 0 || tracker.epochsWithoutImprovement() < 0)
            throw in.fail("impossible position: batch size " + batchSize + ", " + batchesPerEpoch
                    + " batches per epoch, top-" + topK + ", session step " + sessionStep + ", global step " + globalStep
                    + ", epoch " + epoch + ", batch " + batch + ", best epoch " + tracker.bestEpoch()
                    + ", epochs without improvement " + tracker.epochsWithoutImprovement());

        int ns = in.count("step record", 28);
        List<TrainingLog.Step> steps = new ArrayList<>(ns);
        for (int i = 0; i < ns; i++)
            steps.add(new TrainingLog.Step(in.i64("step"), in.i32("step epoch"), in.f64("step lr"), in.f64("step loss")));
        int ne = in.count("epoch record", 44);
        List<TrainingLog.Epoch> epochs = new ArrayList<>(ne);
        for (int i = 0; i < ne; i++)
            epochs.add(new TrainingLog.Epoch(in.i32("epoch"), in.i64("epoch last step"), in.f64("epoch train loss"),
                    in.f64("epoch eval loss"), in.f64("epoch accuracy"), in.f64("epoch top-k accuracy")));
        if (steps.size() != globalStep)
            throw in.fail("the log has " + steps.size() + " steps, the global step is " + globalStep);

        Map<String, Entry> state = CheckpointTensors.read(in, "state", dtype);
        Map<String, Entry> best = CheckpointTensors.read(in, "best state", dtype);
        in.end();
        return new Checkpoint(dtype, batchSize, batchesPerEpoch, dataSeed, topK, sessionStep, globalStep, epoch, batch,
                stoppedEarly, runningLoss, metric, tracker, steps, epochs, state, best);
    }
}
