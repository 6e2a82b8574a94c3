package dev.stride.zoo.generative;

import dev.stride.graph.DType;
import dev.stride.graph.io.AtomicFile;
import dev.stride.graph.io.BodyReader;
import dev.stride.graph.io.BodyWriter;
import dev.stride.graph.io.FramedFile;
import dev.stride.zoo.train.Checkpoint;
import dev.stride.zoo.train.CheckpointFormatException;
import dev.stride.zoo.train.CheckpointTensors;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import static dev.stride.graph.io.AtomicFile.Option.CREATE_DIRECTORIES;
import static dev.stride.graph.io.AtomicFile.Option.READABLE_BY_ALL;

/**
 * Everything a {@link GanTrainer} needs to continue a run exactly where it was: the model's geometry and the
 * training settings that decide its bits (to refuse a checkpoint of another run with a clear message), the position
 * (iterations done, the epoch in progress and its next batch; the noise of iteration s and the shuffle of epoch e
 * are functions of (seed, s) and (seed, e)), the two sessions' run counters, the whole loss log, and the persistent
 * tensors of both training sessions: the generator's and the discriminator's parameters and running statistics and
 * both optimizers' state ({@code d_opt/...}, {@code g_opt/...}). Between iterations the two sessions hold equal copies
 * of every tensor they share, so each name is stored once, and each session takes the names its plan holds.
 *
 * <p>The file has the 24-byte header of every Stride binary file ({@link FramedFile}): magic, ASCII
 * {@code STRIDEGC}; u32 format version ({@link #FORMAT_VERSION}); u32 CRC32C of the body; u64 body length; then the
 * body, little-endian ({@code str} = i32 byte count + UTF-8, f64 as raw IEEE bits): str dtype; i32 nz, ngf, ndf,
 * classes, side, channels; i32 batchSize; i64 seed; f64 lrD; f64 lrG; str optimizer (its record text, e.g.
 * {@code Adam[beta1=0.5, ...]}); i32 batchesPerEpoch; i64 step; i32 epoch; i32 batch; i64 dSessionStep;
 * i64 gSessionStep; i32 count + log records (i64 step, i32 epoch, f64 dLoss, f64 gLoss, f64 realLogit,
 * f64 fakeLogit); then the tensors as {@link CheckpointTensors} stores them (the format the classifier's
 * {@link Checkpoint} uses). Written atomically; read with every count checked before anything is allocated for
 * it, every failure a {@link CheckpointFormatException} naming the file.
 *
 * @param step  iterations done (the next one's noise is drawn from (seed, step))
 * @param epoch epochs started, 1-based: the one in progress (0 before the first iteration)
 * @param batch the next batch of that epoch (equal to batchesPerEpoch when it is complete)
 */
public record GanCheckpoint(Dcgan.Config model, int batchSize, long seed, double lrD, double lrG, String optimizer,
                            int batchesPerEpoch, long step, int epoch, int batch, long dSessionStep, long gSessionStep,
                            List<GanTrainer.Step> log, Map<String, Checkpoint.Entry> state) {
    public static final int FORMAT_VERSION = 1;
    private static final int STEP_BYTES = 8 + 4 + 4 * 8;

    private static final FramedFile<CheckpointFormatException> FRAME = new FramedFile<>("STRIDEGC", FORMAT_VERSION,
            "GAN checkpoint", "GAN checkpoint", CheckpointFormatException::new);

    public GanCheckpoint {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(optimizer, "optimizer");
        log = List.copyOf(log);
        state = Collections.unmodifiableMap(new LinkedHashMap<>(state));
    }

    public DType dtype() { return model.dtype(); }

    /** Writes the checkpoint atomically (temporary file in the same directory, forced, renamed over {@code file}). */
    public void save(Path file) throws IOException {
        AtomicFile.write(file, toBytes(), CREATE_DIRECTORIES, READABLE_BY_ALL);
    }

    public byte[] toBytes() {
        long size = bodySize();
        BodyWriter body = FRAME.writer((int) size);
        body.str(model.dtype().name());
        body.i32(model.nz()).i32(model.ngf()).i32(model.ndf()).i32(model.classes()).i32(model.side()).i32(model.channels());
        body.i32(batchSize).i64(seed).f64(lrD).f64(lrG).str(optimizer);
        body.i32(batchesPerEpoch).i64(step).i32(epoch).i32(batch).i64(dSessionStep).i64(gSessionStep);
        body.i32(log.size());
        for (GanTrainer.Step s : log)
            body.i64(s.step()).i32(s.epoch()).f64(s.dLoss()).f64(s.gLoss()).f64(s.realLogit()).f64(s.fakeLogit());
        CheckpointTensors.write(body, state);
        if (body.bodyLength() != size) throw new AssertionError("GAN checkpoint body size miscounted");
        return FRAME.toBytes(body);
    }

    private long bodySize() {
        long n = strSize(model.dtype().name()) + 6 * 4 + 4 + 8 + 8 + 8 + strSize(optimizer) + 4 + 8 + 4 + 4 + 8 + 8;
        n += 4 + (long) STEP_BYTES * log.size() + CheckpointTensors.size(state);
        if (n > FramedFile.MAX_FILE_BYTES - FramedFile.HEADER_BYTES)
            throw new IllegalArgumentException("GAN checkpoint of " + n + " bytes is larger than one file can hold ("
                    + FramedFile.MAX_FILE_BYTES + ")");
        return n;
    }

    private static long strSize(String s) { return 4 + s.getBytes(StandardCharsets.UTF_8).length; }

    /** Reads and checks a GAN checkpoint file; anything that does not make sense is a {@link CheckpointFormatException}. */
    public static GanCheckpoint load(Path file) throws IOException { return decode(FRAME.read(file)); }

    /** Decodes the bytes {@link #toBytes} made. */
    public static GanCheckpoint fromBytes(byte[] bytes) throws CheckpointFormatException {
        return decode(FRAME.open(bytes, "GAN checkpoint bytes"));
    }

    private static GanCheckpoint decode(BodyReader<CheckpointFormatException> in) throws CheckpointFormatException {
        DType dtype = in.enumName(DType.class, "dtype");
        int nz = in.i32("nz"), ngf = in.i32("ngf"), ndf = in.i32("ndf"), classes = in.i32("classes");
        int side = in.i32("image side"), channels = in.i32("image channels");
        Dcgan.Config model;
        try {
            model = new Dcgan.Config(nz, ngf, ndf, classes, dtype, side, channels);
        } catch (IllegalArgumentException e) {
            throw in.fail("impossible model: " + e.getMessage());
        }
        int batchSize = in.i32("batch size");
        long seed = in.i64("seed");
        double lrD = in.f64("discriminator learning rate"), lrG = in.f64("generator learning rate");
        String optimizer = in.str("optimizer");
        int batchesPerEpoch = in.i32("batches per epoch");
        long step = in.i64("step");
        int epoch = in.i32("epoch"), batch = in.i32("batch");
        long dSessionStep = in.i64("D session step"), gSessionStep = in.i64("G session step");
        // Iteration s (from 0) is batch s % B of epoch s / B + 1: the position is a function of the step.
        boolean consistent = step == 0 ? epoch == 0 && batch == 0
                : epoch >= 1 && batch >= 1 && batch <= batchesPerEpoch
                  && step == (long) (epoch - 1) * batchesPerEpoch + batch;
        if (batchSize < 2 || batchesPerEpoch < 1 || step < 0 || dSessionStep < 0 || gSessionStep < 0 || !consistent)
            throw in.fail("impossible position: batch size " + batchSize + ", " + batchesPerEpoch
                    + " batches per epoch, step " + step + ", epoch " + epoch + ", batch " + batch + ", session steps "
                    + dSessionStep + " and " + gSessionStep);
        int n = in.count("log record", STEP_BYTES);
        if (n != step) throw in.fail("the log has " + n + " iterations, the step is " + step);
        List<GanTrainer.Step> log = new ArrayList<>(n);
        for (int i = 0; i < n; i++)
            log.add(new GanTrainer.Step(in.i64("log step"), in.i32("log epoch"), in.f64("D loss"), in.f64("G loss"),
                    in.f64("real logit"), in.f64("fake logit")));
        Map<String, Checkpoint.Entry> state = CheckpointTensors.read(in, "state", dtype);
        in.end();
        return new GanCheckpoint(model, batchSize, seed, lrD, lrG, optimizer, batchesPerEpoch, step, epoch, batch,
                dSessionStep, gSessionStep, log, state);
    }
}
