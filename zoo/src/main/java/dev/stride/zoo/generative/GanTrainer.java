package dev.stride.zoo.generative;

import dev.stride.engine.Backend;
import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.Optimizer;
import dev.stride.graph.Shape;
import dev.stride.graph.TrainSpec;
import dev.stride.graph.io.AtomicFile;
import dev.stride.zoo.data.Batches;
import dev.stride.zoo.train.Checkpoint;
import dev.stride.zoo.train.CheckpointTensors;
import dev.stride.zoo.train.Plot;
import dev.stride.zoo.train.Progress;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

import static dev.stride.graph.io.AtomicFile.Option.CREATE_DIRECTORIES;
import static dev.stride.graph.io.AtomicFile.Option.READABLE_BY_ALL;

/**
 * Trains a {@link Dcgan}: per batch one D step then one G step, fed the same z, with the two sessions kept in sync by
 * {@link Session#copyPersistentFrom} as {@link Dcgan} describes (after the D step the G session takes the
 * discriminator's new weights and running statistics; after the G step the D session takes the generator's new
 * weights and the discriminator's running statistics). Each optimizer's state stays in its own session.
 *
 * <p>The dataset's pixels must be in [0, 1] (GeneratedDigits, or Mnist without normalisation): the trainer maps them
 * to the generator's range [-1, 1] by 2x - 1. Batches are a seeded shuffle per epoch with the ragged tail dropped;
 * z ~ N(0, I) is drawn on the host from (seed, step), and the labels of a conditional model are the real batch's.
 * Every step records both losses and the mean logits D gave the real and the fake batch.
 *
 * <p><b>Checkpoints.</b> With a checkpoint directory in the config, {@link #run} writes {@link #CHECKPOINT_FILE}
 * there (atomically: a temporary file renamed over the old one) at every epoch end and every
 * {@code checkpointEvery} iterations; {@link #checkpoint} writes one on demand. {@link #resume} opens a new trainer
 * on one ({@link GanCheckpoint}: both networks, both optimizers' state, running statistics, the position in the
 * data and the noise stream, the session run counters, the loss log). The resumed run takes exactly the
 * iterations the uninterrupted run takes: on the reference backend, and on the cpu backend whatever the thread
 * counts before and after, the same losses and the same final tensors bit for bit (GanTrainerResumeTest).
 * The step plans are compiled for the backend that runs them.
 */
public final class GanTrainer implements AutoCloseable {
    public static final String CSV_FILE = "gan.csv", LOSS_PLOT = "gan_loss.png", CHECKPOINT_FILE = "gan.ckpt";

    /**
     * Batch size, the two learning rates, the optimizer of both steps (each with its own state), the seed (weights,
     * data order, noise), threads, backend, and where and how often {@link #run} checkpoints: {@code checkpointDir}
     * (null: never) gets {@link #CHECKPOINT_FILE} at every epoch end and, when {@code checkpointEvery > 0}, every
     * {@code checkpointEvery} iterations.
     */
    public record Config(int batchSize, double lrD, double lrG, Optimizer optimizer, long seed, int threads,
                         String backend, Path checkpointDir, long checkpointEvery) {
        public Config {
            if (batchSize < 2) throw new IllegalArgumentException("batch norm needs a batch of at least 2, got " + batchSize);
            if (!(lrD > 0) || !(lrG > 0) || !Double.isFinite(lrD) || !Double.isFinite(lrG))
                throw new IllegalArgumentException("learning rates must be finite and > 0, got " + lrD + ", " + lrG);
            if (optimizer == null) throw new NullPointerException("optimizer");
            if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
            if (backend == null) throw new NullPointerException("backend");
            if (checkpointEvery < 0) throw new IllegalArgumentException("checkpointEvery must be >= 0, got " + checkpointEvery);
        }

        /**
         * DCGAN's: batch 64, lr 2e-4 for both, Adam betas (0.5, 0.999), seed 1, one thread, the reference backend;
         * no checkpoints.
         */
        public static Config defaults() {
            return new Config(64, 2e-4, 2e-4, Dcgan.dcganAdam(), 1, 1, "reference", null, 0);
        }

        public Config withBatchSize(int b) {
            return new Config(b, lrD, lrG, optimizer, seed, threads, backend, checkpointDir, checkpointEvery);
        }

        public Config withLr(double d, double g) {
            return new Config(batchSize, d, g, optimizer, seed, threads, backend, checkpointDir, checkpointEvery);
        }

        public Config withSeed(long s) {
            return new Config(batchSize, lrD, lrG, optimizer, s, threads, backend, checkpointDir, checkpointEvery);
        }

        public Config withThreads(int t) {
            return new Config(batchSize, lrD, lrG, optimizer, seed, t, backend, checkpointDir, checkpointEvery);
        }

        public Config withBackend(String name) {
            return new Config(batchSize, lrD, lrG, optimizer, seed, threads, name, checkpointDir, checkpointEvery);
        }

        /** Where {@link #run} writes {@link #CHECKPOINT_FILE}; null for nowhere. */
        public Config withCheckpointDir(Path dir) {
            return new Config(batchSize, lrD, lrG, optimizer, seed, threads, backend, dir, checkpointEvery);
        }

        /** Iterations between checkpoints inside an epoch; 0 for epoch ends only. */
        public Config withCheckpointEvery(long n) {
            return new Config(batchSize, lrD, lrG, optimizer, seed, threads, backend, checkpointDir, n);
        }
    }

    /**
     * One iteration: {@code step} counts from 0, {@code epoch} from 1; {@code dLoss} and {@code gLoss} are the two plans'
     * loss outputs, {@code realLogit} and {@code fakeLogit} the mean D logits of the D step (before its update).
     */
    public record Step(long step, int epoch, double dLoss, double gLoss, double realLogit, double fakeLogit) {}

    private final Dcgan model;
    private final Batches.Dataset data;
    private final Config config;
    private final Session d, g;
    private final Batches batches;
    private final int n, classes;
    private final float[] real, labels, oneHot, z;
    private final Tensor realT, zT, oneHotT;
    private final List<Step> log = new ArrayList<>();
    private List<int[]> order;
    private int epoch, batch;
    private long step;

    public GanTrainer(Dcgan model, Batches.Dataset data, Config config) {
        this.model = model;
        this.data = data;
        this.config = config;
        int[] image = Arrays.copyOfRange(model.imageShape(1), 1, 4);
        if (!Arrays.equals(data.imageShape(), image))
            throw new IllegalArgumentException("the DCGAN takes " + image[0] + "x" + image[1] + "x" + image[2]
                    + " images, the dataset has " + Arrays.toString(data.imageShape()));
        this.n = config.batchSize();
        this.batches = new Batches(data.size(), n, true, config.seed());
        if (batches.count() < 1)
            throw new IllegalArgumentException("the dataset of " + data.size() + " images holds no full batch of " + n);
        this.classes = model.config().classes();
        SessionOptions options = SessionOptions.defaults().withSeed(config.seed()).withThreads(config.threads());
        Compiler.Target target = Backend.named(config.backend()).target();     // compiled for where it runs
        TrainSpec spec = TrainSpec.of(config.optimizer());
        this.d = open(model.discriminatorStepPlan(n, spec, target), config.backend(), options);
        try {
            this.g = open(model.generatorStepPlan(n, spec, target), config.backend(), options);
        } catch (RuntimeException e) {
            d.close();
            throw e;
        }
        g.copyPersistentFrom(d);                        // one initial generator and discriminator for both
        this.real = new float[n * image[0] * image[1] * image[2]];
        this.labels = new float[n];
        this.oneHot = new float[n * Math.max(classes, 1)];
        this.z = new float[n * model.config().nz()];
        this.realT = Tensor.of(Shape.of(model.imageShape(n)), real);
        this.zT = Tensor.of(Shape.of(n, model.config().nz(), 1, 1), z);
        this.oneHotT = classes > 0 ? Tensor.of(Shape.of(n, classes), oneHot) : null;
    }

    /** One D step and one G step on the next batch (no checkpoint: {@link #run} writes those). */
    public Step step() {
        if (order == null || batch == order.size()) {
            order = batches.epoch(epoch++);
            batch = 0;
        }
        data.batch(order.get(batch++), real, labels);
        for (int i = 0; i < real.length; i++) real[i] = 2 * real[i] - 1;
        gaussian(z, mix(config.seed(), step));
        if (classes > 0) Batches.oneHot(labels, n, classes, oneHot);

        Map<String, Tensor> dOut = d.run(classes > 0
                ? Map.of(Dcgan.REAL, realT, Dcgan.Z, zT, Dcgan.LABELS, oneHotT, Dcgan.D_LR, scalar(config.lrD()))
                : Map.of(Dcgan.REAL, realT, Dcgan.Z, zT, Dcgan.D_LR, scalar(config.lrD())));
        g.copyPersistentFrom(d);
        Map<String, Tensor> gOut = g.run(classes > 0
                ? Map.of(Dcgan.Z, zT, Dcgan.LABELS, oneHotT, Dcgan.G_LR, scalar(config.lrG()))
                : Map.of(Dcgan.Z, zT, Dcgan.G_LR, scalar(config.lrG())));
        d.copyPersistentFrom(g);

        Step s = new Step(step++, epoch, dOut.get(Dcgan.LOSS).item(), gOut.get(Dcgan.LOSS).item(),
                mean(dOut.get(Dcgan.REAL_LOGITS)), mean(dOut.get(Dcgan.FAKE_LOGITS)));
        log.add(s);
        return s;
    }

    /**
     * {@code steps} iterations, with a progress line on {@code out} when it is not null, writing the config's
     * checkpoints (at epoch ends and every {@code checkpointEvery} iterations) as it goes.
     */
    public List<Step> run(int steps, PrintStream out) throws IOException {
        Progress p = out == null ? null : new Progress(out, "gan", steps, n);
        List<Step> done = new ArrayList<>();
        for (int i = 0; i < steps; i++) {
            Step s = step();
            done.add(s);
            if (p != null) p.step(String.format(Locale.ROOT, "D %.3f G %.3f", s.dLoss(), s.gLoss()));
            Path dir = config.checkpointDir();
            long every = config.checkpointEvery();
            if (dir != null && (batch == batches.count() || every > 0 && step % every == 0))
                checkpoint(dir.resolve(CHECKPOINT_FILE));
        }
        if (p != null) p.done();
        return done;
    }

    // ------------------------------------------------------------------------------------------ checkpoints

    /** Everything needed to continue from here: see {@link GanCheckpoint}. */
    public GanCheckpoint checkpointState() {
        // Between iterations d and g hold equal copies of what they share: d's tensors, then what only g has.
        Map<String, byte[]> tensors = new LinkedHashMap<>(d.snapshot().tensors());
        g.snapshot().tensors().forEach(tensors::putIfAbsent);
        Map<String, Checkpoint.Entry> state = new LinkedHashMap<>();
        tensors.forEach((name, bytes) -> state.put(name, new Checkpoint.Entry(graphHolding(name).value(name).shape().dims(), bytes)));
        return new GanCheckpoint(model.config(), n, config.seed(), config.lrD(), config.lrG(), config.optimizer().toString(),
                batches.count(), step, epoch, batch, d.step(), g.step(), log, state);
    }

    /** Writes {@link #checkpointState} to {@code file}, atomically. */
    public void checkpoint(Path file) throws IOException { checkpointState().save(file); }

    /**
     * Continues the run that wrote {@code checkpoint}: the model, data and config must be those of that run, except
     * for the threads, the backend (another backend continues the run, not bit for bit) and the checkpoint settings;
     * the seed is the checkpoint's. Checked, each mismatch an error naming the file and the field: the model's
     * geometry and dtype, batch size, learning rates, optimizer, batches per epoch, and every tensor's name and shape.
     */
    public static GanTrainer resume(Dcgan model, Batches.Dataset data, Config config, Path checkpoint) throws IOException {
        GanCheckpoint ck = GanCheckpoint.load(checkpoint);
        String where = "checkpoint " + checkpoint + " does not fit this trainer: ";
        Dcgan.Config m = model.config(), c = ck.model();
        mustMatch(where, "the model's dtype", c.dtype(), m.dtype());
        mustMatch(where, "nz (latent size)", c.nz(), m.nz());
        mustMatch(where, "ngf (generator width)", c.ngf(), m.ngf());
        mustMatch(where, "ndf (discriminator width)", c.ndf(), m.ndf());
        mustMatch(where, "classes (0: unconditional)", c.classes(), m.classes());
        mustMatch(where, "image side", c.side(), m.side());
        mustMatch(where, "image channels", c.channels(), m.channels());
        mustMatch(where, "batch size", ck.batchSize(), config.batchSize());
        mustMatch(where, "discriminator learning rate", ck.lrD(), config.lrD());
        mustMatch(where, "generator learning rate", ck.lrG(), config.lrG());
        mustMatch(where, "optimizer", ck.optimizer(), config.optimizer().toString());
        GanTrainer t = new GanTrainer(model, data, config.withSeed(ck.seed()));
        try {
            t.restore(ck, where);
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
        return t;
    }

    private static void mustMatch(String where, String field, Object stored, Object wanted) {
        if (!stored.equals(wanted))
            throw new IllegalArgumentException(where + field + " is " + stored + " in the checkpoint, " + wanted + " here");
    }

    private void restore(GanCheckpoint ck, String where) {
        mustMatch(where, "batches per epoch (of " + data.size() + " images here)", ck.batchesPerEpoch(), batches.count());
        var graphs = new dev.stride.graph.Graph[] {d.plan().graph(), g.plan().graph()};
        Map<String, byte[]> state = CheckpointTensors.check(ck.state(), where, "state", graphs);
        CheckpointTensors.requireComplete(state.keySet(), where, graphs);
        CheckpointTensors.restore(d, state);
        CheckpointTensors.restore(g, state);
        d.setStep(ck.dSessionStep());
        g.setStep(ck.gSessionStep());
        step = ck.step();
        epoch = ck.epoch();
        batch = ck.batch();
        order = epoch == 0 ? null : batches.epoch(epoch - 1);     // step() draws epoch e's order as batches.epoch(e - 1)
        log.clear();
        log.addAll(ck.log());
    }

    private dev.stride.graph.Graph graphHolding(String name) {
        return d.plan().graph().has(name) ? d.plan().graph() : g.plan().graph();
    }

    /** Iterations done. */
    public long steps() { return step; }

    /** The epoch in progress, 1-based (0 before the first iteration); complete when {@link #batchInEpoch} = batches per epoch. */
    public int epoch() { return epoch; }

    /** Batches of the epoch in progress done so far. */
    public int batchInEpoch() { return batch; }

    /** Full batches in one pass over the data (a ragged tail is dropped). */
    public int batchesPerEpoch() { return batches.count(); }

    public Config config() { return config; }

    public List<Step> log() { return Collections.unmodifiableList(log); }

    /** The D-step session (its generator weights equal the G session's between iterations). */
    public Session discriminatorSession() { return d; }

    /** The G-step session: the one to copy a generator from, running statistics included. */
    public Session generatorSession() { return g; }

    /** {@code step,epoch,d_loss,g_loss,d_real_logit,d_fake_logit}, one line per iteration; written atomically. */
    public void writeCsv(Path file) throws IOException {
        StringBuilder sb = new StringBuilder("step,epoch,d_loss,g_loss,d_real_logit,d_fake_logit\n");
        for (Step s : log)
            sb.append(String.format(Locale.ROOT, "%d,%d,%.6g,%.6g,%.6g,%.6g%n", s.step(), s.epoch(), s.dLoss(),
                    s.gLoss(), s.realLogit(), s.fakeLogit()));
        AtomicFile.write(file, sb.toString().getBytes(StandardCharsets.UTF_8), CREATE_DIRECTORIES, READABLE_BY_ALL);
    }

    /** Both losses per iteration as a line chart. */
    public void writePlot(Path file) throws IOException {
        double[] x = log.stream().mapToDouble(Step::step).toArray();
        var series = List.of(
                new Plot.Series("discriminator", x, log.stream().mapToDouble(Step::dLoss).toArray(), new Color(0x1F77B4), 1.5f, false),
                new Plot.Series("generator", x, log.stream().mapToDouble(Step::gLoss).toArray(), new Color(0xD62728), 1.5f, false));
        createParent(file);
        Plot.writePng(Plot.render("GAN losses", "step", "loss (BCE)", series, true, 800, 480), file);
    }

    /** Writes the CSV and the plot into {@code dir}. */
    public void writeLogs(Path dir) throws IOException {
        writeCsv(dir.resolve(CSV_FILE));
        writePlot(dir.resolve(LOSS_PLOT));
    }

    /**
     * Generates {@code count} images in [-1, 1] (NCHW floats) from z ~ N(0, I) drawn from {@code seed}, with class
     * {@code classOf[i]} for image i when the model is conditional ({@code null} otherwise). The generator runs in
     * inference mode, on the G session's current weights and running statistics.
     */
    public float[] generate(int count, int[] classOf, long seed) { return generate(count, classOf, seed, false); }

    /** As above; with {@code batchStatistics} the generator's batch norm uses the batch's statistics ({@link Dcgan#generatorPlan(int, boolean)}). */
    public float[] generate(int count, int[] classOf, long seed, boolean batchStatistics) {
        if (classes > 0 && (classOf == null || classOf.length != count))
            throw new IllegalArgumentException("a conditional generator needs one class per image, " + count + " in all");
        try (Session gen = Session.open(model.generatorPlan(count, batchStatistics), config.backend(),
                SessionOptions.defaults().withThreads(config.threads()))) {
            gen.copyPersistentFrom(g);
            float[] zs = new float[count * model.config().nz()];
            gaussian(zs, seed);
            Map<String, Tensor> in = new java.util.HashMap<>();
            in.put(Dcgan.Z, Tensor.of(Shape.of(count, model.config().nz(), 1, 1), zs));
            if (classes > 0) {
                float[] c = new float[count];
                for (int i = 0; i < count; i++) c[i] = classOf[i];
                float[] hot = new float[count * classes];
                Batches.oneHot(c, count, classes, hot);
                in.put(Dcgan.LABELS, Tensor.of(Shape.of(count, classes), hot));
            }
            return gen.run(in).get(Dcgan.IMAGES).toFloatArray();
        }
    }

    /** A grid of {@code rows x cols} unconditional samples. */
    public BufferedImage renderSamples(int rows, int cols, long seed) {
        int count = rows * cols;
        int[] classOf = null;
        if (classes > 0) {                              // a conditional model: cycle through the classes
            classOf = new int[count];
            for (int i = 0; i < count; i++) classOf[i] = i % classes;
        }
        return ImageGrid.render(generate(count, classOf, seed), count, model.config().channels(), model.config().side(),
                model.config().side(), rows, cols, -1, 1);
    }

    /**
     * Conditional models: one row of {@code perRow} samples per requested digit, row r showing class {@code digits[r]},
     * column c using the same z in every row (so a column shows one "style" across classes).
     */
    public BufferedImage renderDigits(int[] digits, int perRow, long seed) { return renderDigits(digits, perRow, seed, false); }

    /** As above; with {@code batchStatistics} the generator's batch norm uses the grid's own statistics. */
    public BufferedImage renderDigits(int[] digits, int perRow, long seed, boolean batchStatistics) {
        if (classes == 0) throw new IllegalStateException("renderDigits needs a conditional model (classes > 0)");
        if (digits.length < 1 || perRow < 1) throw new IllegalArgumentException("need at least one digit and one column");
        int count = digits.length * perRow, nz = model.config().nz();
        float[] zs = new float[count * nz], hot = new float[count * classes];
        float[] row = new float[perRow * nz];
        gaussian(row, seed);
        for (int r = 0; r < digits.length; r++) {
            if (digits[r] < 0 || digits[r] >= classes)
                throw new IllegalArgumentException("digit " + digits[r] + " is not a class 0.." + (classes - 1));
            System.arraycopy(row, 0, zs, r * perRow * nz, perRow * nz);
            for (int c = 0; c < perRow; c++) hot[(r * perRow + c) * classes + digits[r]] = 1;
        }
        try (Session gen = Session.open(model.generatorPlan(count, batchStatistics), config.backend(),
                SessionOptions.defaults().withThreads(config.threads()))) {
            gen.copyPersistentFrom(g);
            float[] images = gen.run(Map.of(Dcgan.Z, Tensor.of(Shape.of(count, nz, 1, 1), zs),
                    Dcgan.LABELS, Tensor.of(Shape.of(count, classes), hot))).get(Dcgan.IMAGES).toFloatArray();
            return ImageGrid.render(images, count, model.config().channels(), model.config().side(), model.config().side(),
                    digits.length, perRow, -1, 1);
        }
    }

    @Override public void close() {
        try {
            d.close();
        } finally {
            g.close();
        }
    }

    private static Session open(dev.stride.graph.Plan plan, String backend, SessionOptions options) {
        return Session.open(plan, backend, options);
    }

    private static Tensor scalar(double v) { return Tensor.scalar(dev.stride.graph.DType.F32, v); }

    private static double mean(Tensor t) {
        double s = 0;
        for (long i = 0; i < t.size(); i++) s += t.get(i);
        return s / t.size();
    }

    /** Fills {@code out} with N(0, 1) samples determined by {@code seed}. */
    static void gaussian(float[] out, long seed) {
        var r = new SplittableRandom(seed);
        for (int i = 0; i < out.length; i++) out[i] = (float) r.nextGaussian();
    }

    private static long mix(long seed, long counter) {
        long x = seed + 0x9E3779B97F4A7C15L * (counter + 1);
        x = (x ^ (x >>> 30)) * 0xBF58476D1CE4E5B9L;
        x = (x ^ (x >>> 27)) * 0x94D049BB133111EBL;
        return x ^ (x >>> 31);
    }

    private static void createParent(Path file) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
    }
}
