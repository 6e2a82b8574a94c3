package dev.stride.tools;

import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.DType;
import dev.stride.graph.Optimizer;
import dev.stride.graph.Shape;
import dev.stride.graph.TrainSpec;
import dev.stride.zoo.data.Batches;
import dev.stride.zoo.data.Mnist;
import dev.stride.zoo.generative.ConvVae;
import dev.stride.zoo.generative.Dcgan;
import dev.stride.zoo.generative.GanTrainer;
import dev.stride.zoo.generative.ImageGrid;
import dev.stride.zoo.generative.PosteriorStats;
import dev.stride.zoo.train.Plot;
import dev.stride.zoo.train.Progress;

import java.awt.Color;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * {@code stride vae} and {@code stride gan}: train the zoo's convolutional VAE or DCGAN (plain or conditional) on
 * MNIST-format data and write what shows that they work: the test ELBO per epoch and reconstruction and sample
 * grids (VAE); sample grids per epoch, one row per requested digit (conditional GAN) and the loss curves (GAN).
 */
final class GenerativeCommand {
    private GenerativeCommand() {}

    static final String VAE_USAGE = """
            usage: stride vae --data DIR [options]
              --data DIR      MNIST-format directory (IDX, .gz or raw)
              --epochs N      default 10
              --batch N       default 128
              --latent D      latent dimensions (default 16)
              --lr X          Adam learning rate (default 1e-3)
              --backend NAME  cpu (default) | reference | cuda (a GPU: see stride doctor)
              --threads N     worker threads (default: all cores)
              --seed N        default 1
              --train-limit N first N training images only
              --out DIR       output directory (default runs/vae), with
                                vae.csv, vae_loss.png    test ELBO per epoch
                                reconstructions.png      test images 0-63 (rows 1, 3, 5, 7) above sigmoid(decoder(mu(x)))
                                posterior_samples.png    the same 64 images decoded from z = mu(x) + sigma(x)*eps
                                samples.png              64 images decoded from z ~ N(0, I), the prior
                                samples_matched.png      the same 64 z moved to N(E[mu], Var[mu]+E[sigma^2]) per
                                                         dimension: the Gaussian fitted to the codes the decoder saw
            After training it prints the aggregate posterior over the test set, per latent dimension: E[mu],
            Var[mu], E[sigma^2] and their sum (1 under the prior), and the active units (Var[mu] > 0.01).
            """;

    static final String GAN_USAGE = """
            usage: stride gan --data DIR [options]
              --data DIR             MNIST-format directory (IDX, .gz or raw)
              --epochs N             default 5
              --batch N              default 64
              --conditional          condition both networks on the class label; writes digits.png, one row per digit
              --train-limit N        first N training images only
              --backend NAME         cpu (default) | reference | cuda (a GPU: see stride doctor)
              --threads N            worker threads (default: all cores)
              --seed N               default 1 (a resumed run keeps its checkpoint's)
              --out DIR              gan.csv, gan_loss.png, samples_epochN.png, samples.png (default runs/gan)
              --checkpoint DIR       where gan.ckpt is written at every epoch end (default: the --out directory)
              --checkpoint-every N   also checkpoint every N iterations (default: every epoch only)
              --resume FILE          continue the run that wrote this checkpoint, to --epochs epochs in all
            """;

    /** The options both commands share. */
    private static final class Options {
        Path data, out, checkpoint, resume;
        long checkpointEvery;
        int epochs, batch, latent = 16, limit;
        double lr = 1e-3;
        boolean conditional;
        String backend = "cpu";
        int threads = SessionOptions.defaults().threads();
        long seed = 1;

        Options(int epochs, int batch, String out) {
            this.epochs = epochs;
            this.batch = batch;
            this.out = Path.of(out);
        }
    }

    static int vae(String[] args) throws IOException {
        Options o = new Options(10, 128, "runs/vae");
        if (!parse(args, o, VAE_USAGE, "stride vae", false)) return args.length > 0 && isHelp(args) ? 0 : 2;
        Batches.Dataset train = Mnist.load(o.data, Mnist.Split.TRAIN, o.limit);
        Batches.Dataset test = Mnist.load(o.data, Mnist.Split.TEST, 0);
        ConvVae vae = new ConvVae(ConvVae.Config.defaults().withLatent(o.latent));
        int evalBatch = Math.min(500, test.size());   // whole batches only: the test set's first size/evalBatch of them
        SessionOptions so = SessionOptions.defaults().withSeed(o.seed).withThreads(o.threads);
        Files.createDirectories(o.out);
        System.out.printf("training a conv VAE (latent %d) on %s (%d train, %d test), %d epochs, batch %d, Adam lr %g,"
                + " backend %s (%d threads), output in %s%n", o.latent, o.data, train.size(), test.size(), o.epochs,
                o.batch, o.lr, o.backend, o.threads, o.out);
        try (Session step = Session.open(vae.trainingPlan(o.batch, TrainSpec.of(new Optimizer.Adam())), o.backend, so);
             Session eval = Session.open(vae.evaluationPlan(evalBatch), o.backend, so)) {
            Batches batches = new Batches(train.size(), o.batch, true, o.seed);
            float[] images = new float[o.batch * ConvVae.PIXELS], labels = new float[o.batch];
            Tensor imagesT = Tensor.of(Shape.of(o.batch, 1, ConvVae.SIDE, ConvVae.SIDE), images);
            Tensor lr = Tensor.scalar(DType.F32, o.lr);
            StringBuilder csv = new StringBuilder("epoch,train_loss,test_neg_elbo,test_recon,test_kl,seconds\n");
            List<Double> epochsX = new ArrayList<>(), trainY = new ArrayList<>(), testY = new ArrayList<>();
            long start = System.nanoTime();
            for (int epoch = 1; epoch <= o.epochs; epoch++) {
                List<int[]> order = batches.epoch(epoch);
                Progress p = new Progress(System.out, "epoch " + epoch, order.size(), o.batch);
                double sum = 0;
                for (int[] idx : order) {
                    train.batch(idx, images, labels);
                    double loss = step.run(Map.of(ConvVae.IMAGES, imagesT, ConvVae.LR, lr)).get(ConvVae.LOSS).item();
                    sum += loss;
                    p.step(String.format(Locale.ROOT, "-ELBO %.2f", loss));
                }
                p.done();
                eval.copyPersistentFrom(step);
                double[] t = evaluate(eval, test, evalBatch);
                double secs = (System.nanoTime() - start) / 1e9;
                double trainLoss = sum / order.size();
                System.out.printf(Locale.ROOT, "epoch %d: train -ELBO %.2f, test -ELBO %.2f nats (recon %.2f + KL %.2f), %.1f s%n",
                        epoch, trainLoss, t[0], t[1], t[2], secs);
                csv.append(String.format(Locale.ROOT, "%d,%.4f,%.4f,%.4f,%.4f,%.1f%n", epoch, trainLoss, t[0], t[1], t[2], secs));
                epochsX.add((double) epoch);
                trainY.add(trainLoss);
                testY.add(t[0]);
            }
            Files.writeString(o.out.resolve("vae.csv"), csv, StandardCharsets.UTF_8);
            double[] x = epochsX.stream().mapToDouble(Double::doubleValue).toArray();
            Plot.writePng(Plot.render("conv VAE: negative ELBO per image", "epoch", "nats", List.of(
                    new Plot.Series("train", x, trainY.stream().mapToDouble(Double::doubleValue).toArray(), new Color(0x1F77B4), 1.5f, true),
                    new Plot.Series("test", x, testY.stream().mapToDouble(Double::doubleValue).toArray(), new Color(0xD62728), 1.5f, true)),
                    true, 800, 480), o.out.resolve("vae_loss.png"));
            PosteriorStats stats = posteriorStats(vae, step, test, evalBatch, o);
            System.out.print("aggregate posterior over the test set (prior samples resemble training codes only where"
                    + " E[mu] ~ 0 and Var[mu]+E[sigma^2] ~ 1):\n" + stats.table());
            writeVaeGrids(vae, step, test, stats, o);
        }
        return 0;
    }

    /** mu and logvar of every test image (a ragged tail padded with its last image, the padding not counted). */
    private static PosteriorStats posteriorStats(ConvVae vae, Session trained, Batches.Dataset test, int batch, Options o) {
        int n = test.size(), d = o.latent;
        float[] mu = new float[n * d], logvar = new float[n * d];
        float[] images = new float[batch * ConvVae.PIXELS], labels = new float[batch];
        Tensor imagesT = Tensor.of(Shape.of(batch, 1, ConvVae.SIDE, ConvVae.SIDE), images);
        int[] idx = new int[batch];
        try (Session enc = Session.open(vae.reconstructionPlan(batch), o.backend,
                SessionOptions.defaults().withThreads(o.threads))) {
            copyAll(enc, trained);
            for (int start = 0; start < n; start += batch) {
                int valid = Math.min(batch, n - start);
                for (int i = 0; i < batch; i++) idx[i] = start + Math.min(i, valid - 1);
                test.batch(idx, images, labels);
                Map<String, Tensor> out = enc.run(Map.of(ConvVae.IMAGES, imagesT));
                System.arraycopy(out.get(ConvVae.MU).toFloatArray(), 0, mu, start * d, valid * d);
                System.arraycopy(out.get(ConvVae.LOGVAR).toFloatArray(), 0, logvar, start * d, valid * d);
            }
        }
        return PosteriorStats.of(mu, logvar, n, d);
    }

    /** Copies the trained weights into {@code to}; every parameter of its plan must be among them. */
    private static void copyAll(Session to, Session from) {
        int copied = to.copyPersistentFrom(from), wanted = to.plan().graph().persistent().size();
        if (copied != wanted)
            throw new IllegalStateException("copied " + copied + " of the " + wanted + " tensors the plan needs");
    }

    /** The mean over the test set of the one-sample negative ELBO, reconstruction and KL terms. */
    private static double[] evaluate(Session eval, Batches.Dataset test, int batch) {
        float[] images = new float[batch * ConvVae.PIXELS], labels = new float[batch];
        Tensor imagesT = Tensor.of(Shape.of(batch, 1, ConvVae.SIDE, ConvVae.SIDE), images);
        double[] sum = new double[3];
        int batches = test.size() / batch;
        for (int b = 0; b < batches; b++) {
            int[] idx = new int[batch];
            for (int i = 0; i < batch; i++) idx[i] = b * batch + i;
            test.batch(idx, images, labels);
            Map<String, Tensor> out = eval.run(Map.of(ConvVae.IMAGES, imagesT));
            sum[0] += out.get(ConvVae.LOSS).item();
            sum[1] += out.get(ConvVae.RECON).item();
            sum[2] += out.get(ConvVae.KL).item();
        }
        for (int i = 0; i < 3; i++) sum[i] /= batches;
        return sum;
    }

    /**
     * Test images above their reconstructions (rows alternate), the same images decoded from posterior samples
     * z = mu(x) + sigma(x)*eps, an 8x8 grid of samples from the prior z ~ N(0, I), and the same z moved to the
     * Gaussian fitted to the aggregate posterior (where clean digits there and noise from the prior mean that the
     * decoder works and the prior misses the codes it was trained on).
     */
    private static void writeVaeGrids(ConvVae vae, Session trained, Batches.Dataset test, PosteriorStats stats, Options o)
            throws IOException {
        int cols = 16, pairs = 4, n = cols * pairs, pixels = ConvVae.PIXELS;
        SessionOptions so = SessionOptions.defaults().withThreads(o.threads);
        float[] images = new float[n * pixels], labels = new float[n];
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        test.batch(idx, images, labels);
        try (Session recon = Session.open(vae.reconstructionPlan(n), o.backend, so);
             Session sample = Session.open(vae.samplingPlan(64), o.backend, so)) {
            copyAll(recon, trained);
            copyAll(sample, trained);
            Map<String, Tensor> out = recon.run(Map.of(ConvVae.IMAGES,
                    Tensor.of(Shape.of(n, 1, ConvVae.SIDE, ConvVae.SIDE), images)));
            float[] r = out.get(ConvVae.RECONSTRUCTION).toFloatArray();
            float[] grid = new float[2 * n * pixels];
            for (int row = 0; row < pairs; row++) {
                System.arraycopy(images, row * cols * pixels, grid, 2 * row * cols * pixels, cols * pixels);
                System.arraycopy(r, row * cols * pixels, grid, (2 * row + 1) * cols * pixels, cols * pixels);
            }
            ImageGrid.write(o.out.resolve("reconstructions.png"), grid, 2 * n, 1, ConvVae.SIDE, ConvVae.SIDE,
                    2 * pairs, cols, 0, 1);
            // The sampling plan's batch is 64, the images here are 64: their posterior samples, one eps each.
            float[] mu = out.get(ConvVae.MU).toFloatArray(), logvar = out.get(ConvVae.LOGVAR).toFloatArray();
            float[] zq = new float[n * o.latent];
            Random eps = new Random(o.seed + 9);
            for (int i = 0; i < zq.length; i++) zq[i] = (float) (mu[i] + Math.exp(0.5 * logvar[i]) * eps.nextGaussian());
            float[] q = sample.run(Map.of(ConvVae.Z, Tensor.of(Shape.of(n, o.latent), zq))).get(ConvVae.SAMPLES).toFloatArray();
            ImageGrid.write(o.out.resolve("posterior_samples.png"), q, n, 1, ConvVae.SIDE, ConvVae.SIDE, pairs, cols, 0, 1);

            float[] z = new float[64 * o.latent];
            Random rnd = new Random(o.seed + 7);
            for (int i = 0; i < z.length; i++) z[i] = (float) rnd.nextGaussian();
            float[] s = sample.run(Map.of(ConvVae.Z, Tensor.of(Shape.of(64, o.latent), z))).get(ConvVae.SAMPLES).toFloatArray();
            ImageGrid.write(o.out.resolve("samples.png"), s, 64, 1, ConvVae.SIDE, ConvVae.SIDE, 8, 8, 0, 1);
            float[] zm = new float[z.length];
            for (int i = 0; i < z.length; i++) {
                int d = i % o.latent;
                zm[i] = (float) (stats.meanMu()[d] + Math.sqrt(stats.aggregateVariance(d)) * z[i]);
            }
            float[] m = sample.run(Map.of(ConvVae.Z, Tensor.of(Shape.of(64, o.latent), zm))).get(ConvVae.SAMPLES).toFloatArray();
            ImageGrid.write(o.out.resolve("samples_matched.png"), m, 64, 1, ConvVae.SIDE, ConvVae.SIDE, 8, 8, 0, 1);
        }
        System.out.println("wrote " + o.out.resolve("reconstructions.png") + " (test images above their reconstructions), "
                + o.out.resolve("posterior_samples.png") + " (the same images from z ~ q(z|x)), "
                + o.out.resolve("samples.png") + " (z ~ N(0, I)) and " + o.out.resolve("samples_matched.png")
                + " (z from the Gaussian fitted to the aggregate posterior)");
    }

    static int gan(String[] args) throws IOException {
        Options o = new Options(5, 64, "runs/gan");
        if (!parse(args, o, GAN_USAGE, "stride gan", true)) return args.length > 0 && isHelp(args) ? 0 : 2;
        Batches.Dataset train = Mnist.load(o.data, Mnist.Split.TRAIN, o.limit);
        Dcgan model = new Dcgan(o.conditional ? Dcgan.Config.defaults().withClasses(10) : Dcgan.Config.defaults());
        Path checkpointDir = o.checkpoint != null ? o.checkpoint : o.out;
        GanTrainer.Config config = GanTrainer.Config.defaults().withBatchSize(o.batch).withSeed(o.seed)
                .withThreads(o.threads).withBackend(o.backend).withCheckpointDir(checkpointDir)
                .withCheckpointEvery(o.checkpointEvery);
        Files.createDirectories(o.out);
        int stepsPerEpoch = train.size() / o.batch;
        System.out.printf("training a %sDCGAN on %s (%d images), %d epochs of %d steps, batch %d, backend %s (%d threads),"
                + " output in %s, checkpoints in %s%n", o.conditional ? "conditional " : "", o.data, train.size(), o.epochs,
                stepsPerEpoch, o.batch, o.backend, o.threads, o.out, checkpointDir.resolve(GanTrainer.CHECKPOINT_FILE));
        GanTrainer trainer;
        try {
            trainer = o.resume == null ? new GanTrainer(model, train, config) : GanTrainer.resume(model, train, config, o.resume);
        } catch (IllegalArgumentException e) {         // a checkpoint of another run, or no full batch in the data
            System.err.println("stride gan: " + e.getMessage());
            return 1;
        }
        try (GanTrainer t = trainer) {
            long seed = t.config().seed();             // a resumed run's: its grids show the same z as before
            long total = (long) o.epochs * stepsPerEpoch;
            if (o.resume != null)
                System.out.printf("resumed from %s after %d iterations (epoch %d, batch %d of %d)%s%n", o.resume, t.steps(),
                        t.epoch(), t.batchInEpoch(), stepsPerEpoch,
                        t.steps() >= total ? "; --epochs " + o.epochs + " is " + total + " iterations: nothing to train" : "");
            long start = System.nanoTime();
            for (int epoch = (int) (t.steps() / stepsPerEpoch) + 1; epoch <= o.epochs; epoch++) {
                t.run(Math.toIntExact((long) epoch * stepsPerEpoch - t.steps()), System.out);
                int e = epoch;                         // the whole epoch's means, a part trained before a resume included
                List<GanTrainer.Step> steps = t.log().stream().filter(s -> s.epoch() == e).toList();
                double d = steps.stream().mapToDouble(GanTrainer.Step::dLoss).average().orElse(Double.NaN);
                double g = steps.stream().mapToDouble(GanTrainer.Step::gLoss).average().orElse(Double.NaN);
                System.out.printf(Locale.ROOT, "epoch %d: mean D loss %.3f, mean G loss %.3f, %.1f s%n", epoch, d, g,
                        (System.nanoTime() - start) / 1e9);
                ImageGrid.write(o.out.resolve("samples_epoch" + epoch + ".png"), t.renderSamples(8, 8, seed + 11));
                t.writeLogs(o.out);
            }
            ImageGrid.write(o.out.resolve("samples.png"), t.renderSamples(8, 8, seed + 11));
            t.writeLogs(o.out);
            if (o.conditional) {
                ImageGrid.write(o.out.resolve("digits.png"), t.renderDigits(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 10, seed + 13));
                System.out.println("wrote " + o.out.resolve("digits.png") + " (row k: ten samples of digit k)");
            }
            System.out.println("wrote " + o.out.resolve("samples.png") + ", " + o.out.resolve(GanTrainer.LOSS_PLOT) + ", "
                    + o.out.resolve(GanTrainer.CSV_FILE));
        }
        return 0;
    }

    private static boolean isHelp(String[] args) {
        for (String a : args) if (a.equals("-h") || a.equals("--help")) return true;
        return false;
    }

    /** Fills {@code o}; prints the usage and returns false on help or a bad argument. */
    private static boolean parse(String[] args, Options o, String usage, String command, boolean gan) {
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--data" -> o.data = Path.of(value(args, ++i, a));
                    case "--out" -> o.out = Path.of(value(args, ++i, a));
                    case "--epochs" -> o.epochs = positive(a, value(args, ++i, a));
                    case "--batch" -> o.batch = positive(a, value(args, ++i, a));
                    case "--backend" -> o.backend = value(args, ++i, a);
                    case "--threads" -> o.threads = positive(a, value(args, ++i, a));
                    case "--seed" -> o.seed = Long.parseLong(value(args, ++i, a));
                    case "--train-limit" -> o.limit = positive(a, value(args, ++i, a));
                    case "--latent" -> { if (gan) throw new IllegalArgumentException("unexpected argument '" + a + "'"); o.latent = positive(a, value(args, ++i, a)); }
                    case "--lr" -> { if (gan) throw new IllegalArgumentException("unexpected argument '" + a + "'"); o.lr = Double.parseDouble(value(args, ++i, a)); }
                    case "--conditional" -> { if (!gan) throw new IllegalArgumentException("unexpected argument '" + a + "'"); o.conditional = true; }
                    case "--checkpoint" -> { if (!gan) throw new IllegalArgumentException("unexpected argument '" + a + "'"); o.checkpoint = Path.of(value(args, ++i, a)); }
                    case "--checkpoint-every" -> { if (!gan) throw new IllegalArgumentException("unexpected argument '" + a + "'"); o.checkpointEvery = positive(a, value(args, ++i, a)); }
                    case "--resume" -> { if (!gan) throw new IllegalArgumentException("unexpected argument '" + a + "'"); o.resume = Path.of(value(args, ++i, a)); }
                    case "-h", "--help" -> { System.out.print(usage); return false; }
                    default -> throw new IllegalArgumentException("unexpected argument '" + a + "'");
                }
            }
            if (o.data == null) throw new IllegalArgumentException("--data DIR is required");
            return true;
        } catch (IllegalArgumentException e) {   // NumberFormatException included
            System.err.println(command + ": " + e.getMessage());
            System.err.print(usage);
            return false;
        }
    }

    private static int positive(String option, String v) {
        int n = Integer.parseInt(v);
        if (n < 1) throw new IllegalArgumentException(option + " must be >= 1, got " + n);
        return n;
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) throw new IllegalArgumentException(option + " needs a value");
        return args[i];
    }
}
