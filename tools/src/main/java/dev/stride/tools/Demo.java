package dev.stride.tools;

import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.DType;
import dev.stride.graph.Plan;
import dev.stride.graph.PlanFile;
import dev.stride.graph.Shape;
import dev.stride.zoo.Classifier;
import dev.stride.zoo.LeNet5;
import dev.stride.zoo.data.Batches;
import dev.stride.zoo.data.GeneratedDigits;
import dev.stride.zoo.data.Mnist;
import dev.stride.zoo.train.Progress;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * {@code stride demo}: the whole pipeline on LeNet-5. Builds the model, compiles a training plan (forward,
 * backward and SGD update in one plan) and an inference plan, trains on MNIST (or, when no MNIST directory is
 * found, on digits the project generates), prints progress and test accuracy, saves the inference plan with the
 * trained weights, loads it back from the file and checks that it predicts exactly what the in-memory session did.
 */
public final class Demo {
    private Demo() {}

    static final String USAGE = """
            usage: stride demo [options]
              --data DIR          MNIST-format directory (IDX, .gz or raw); default: ../shared/data/mnist if found
              --generated         train on generated digits even if MNIST is found
              --epochs N          training epochs (default 1)
              --train-limit N     use only the first N training images (default all)
              --batch N           batch size (default 64)
              --lr X              learning rate (default 0.01), SGD with momentum 0.9
              --backend NAME      backend to run on: cpu (default, Vector API kernels) or reference
              --out FILE          where to save the trained inference plan (default lenet5.stride)
              --seed N            seed for initialisation and shuffling (default 1)
            """;

    public static int run(String[] args) throws IOException {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("stride demo: " + e.getMessage());
            System.err.print(USAGE);
            return 2;
        }
        if (o.help) { System.out.print(USAGE); return 0; }
        PrintStream out = System.out;
        long start = System.nanoTime();

        Batches.Dataset train, test;
        Path mnist = o.generated ? null : (o.data != null ? o.data : findSharedMnist());
        if (mnist != null) {
            if (!Mnist.present(mnist, Mnist.Split.TRAIN) || !Mnist.present(mnist, Mnist.Split.TEST)) {
                System.err.println("stride demo: " + mnist + " does not hold MNIST train and t10k IDX files");
                return 1;
            }
            train = Mnist.load(mnist, Mnist.Split.TRAIN, o.trainLimit, true);
            test = Mnist.load(mnist, Mnist.Split.TEST, 0, true);
            out.printf("data: MNIST from %s (%d train, %d test images)%n", mnist, train.size(), test.size());
        } else {
            int n = o.trainLimit > 0 ? o.trainLimit : 20000;
            train = new GeneratedDigits(n, o.seed, true);
            test = new GeneratedDigits(2000, o.seed + 1_000_003, true);
            out.printf("data: generated digits (no MNIST directory found; pass --data DIR): %d train, %d test images%n",
                    train.size(), test.size());
        }

        int b = o.batch, evalBatch = 500;
        var target = dev.stride.engine.Backend.named(o.backend).target();   // compiled for where it runs
        Plan trainPlan = Classifier.trainingPlan(LeNet5::logits, Shape.of(b, 1, 28, 28), DType.F32, 0.9, 0, target);
        Plan evalPlan = Classifier.inferencePlan(LeNet5::logits, Shape.of(evalBatch, 1, 28, 28), DType.F32, target);
        out.printf("LeNet-5 training plan: %d nodes, %.1f MFLOP per step, arena %s (naive sum %s)%n",
                trainPlan.schedule().length, trainPlan.flops() / 1e6, Units.bytes(trainPlan.memory().arenaBytes()),
                Units.bytes(trainPlan.memory().naiveArenaBytes()));
        out.printf("LeNet-5 inference plan: %d nodes, arena %s (naive sum %s), parameters %s%n",
                evalPlan.schedule().length, Units.bytes(evalPlan.memory().arenaBytes()),
                Units.bytes(evalPlan.memory().naiveArenaBytes()), Units.bytes(evalPlan.memory().persistentBytes()));

        SessionOptions so = SessionOptions.defaults().withSeed(o.seed);
                Path file = o.out;
        try (Session trainer = Session.open(trainPlan, o.backend, so);
             Session eval = Session.open(evalPlan, o.backend, so)) {
            var batches = new Batches(train.size(), b, true, o.seed);
            float[] images = new float[b * 784], labels = new float[b];
            Tensor imgT = Tensor.of(Shape.of(b, 1, 28, 28), images), labT = Tensor.of(Shape.of(b), labels);
            Tensor lr = Tensor.of(Shape.SCALAR, (float) o.lr);
            for (int epoch = 0; epoch < o.epochs; epoch++) {
                var progress = new Progress(out, "epoch " + (epoch + 1) + "/" + o.epochs, batches.count(), b);
                double runningLoss = Double.NaN;
                int seen = 0, correct = 0;
                for (int[] idx : batches.epoch(epoch)) {
                    train.batch(idx, images, labels);
                    Map<String, Tensor> r = trainer.run(Map.of(Classifier.IMAGES, imgT, Classifier.LABELS, labT,
                            Classifier.LR, lr));
                    double loss = r.get(Classifier.LOSS).item();
                    if (!Double.isFinite(loss)) {
                        out.println();
                        System.err.printf("stride demo: loss became %s at step %d; lower --lr%n", loss, trainer.step());
                        return 1;
                    }
                    runningLoss = Double.isNaN(runningLoss) ? loss : 0.98 * runningLoss + 0.02 * loss;
                    float[] logits = r.get(Classifier.LOGITS).toFloatArray();
                    for (int i = 0; i < b; i++) if (Classifier.argmax(logits, i, 10) == (int) labels[i]) correct++;
                    seen += b;
                    progress.step(String.format("loss %.4f  train acc %5.2f%%", runningLoss, 100.0 * correct / seen));
                }
                progress.done();
                eval.copyPersistentFrom(trainer);
                float accuracy = evaluate(eval, test, evalBatch).accuracy;
                out.printf("epoch %d: test accuracy %.2f%% on %d images%n", epoch + 1, 100 * accuracy, test.size());
            }
            eval.copyPersistentFrom(trainer);
            Evaluation before = evaluate(eval, test, evalBatch);
            PlanFile.save(eval.snapshot(), file);
            out.printf("saved the trained inference plan to %s (%s)%n", file, Units.bytes(Files.size(file)));

            Plan loaded = PlanFile.load(file);
            try (Session reloaded = Session.open(loaded, o.backend, so)) {
                Evaluation after = evaluate(reloaded, test, evalBatch);
                boolean same = Arrays.equals(before.predictions, after.predictions)
                        && Arrays.equals(before.firstLogits, after.firstLogits);
                out.printf("reloaded %s: test accuracy %.2f%%, predictions and logits %s the in-memory session's%n",
                        file, 100 * after.accuracy, same ? "identical to" : "DIFFER from");
                if (!same) return 1;
            }
        }
        out.printf("demo finished in %.1f s%n", (System.nanoTime() - start) / 1e9);
        return 0;
    }

    record Evaluation(float accuracy, int[] predictions, float[] firstLogits) {}

    static Evaluation evaluate(Session s, Batches.Dataset data, int batch) {
        int n = data.size() / batch * batch;   // the plan has a fixed batch; a ragged tail is left out
        if (n == 0) throw new IllegalArgumentException("test set of " + data.size() + " is smaller than one batch of " + batch);
        float[] images = new float[batch * 784], labels = new float[batch];
        Tensor imgT = Tensor.of(Shape.of(batch, 1, 28, 28), images);
        int[] predictions = new int[n];
        float[] first = null;
        int correct = 0;
        for (int start = 0; start < n; start += batch) {
            int[] idx = new int[batch];
            for (int i = 0; i < batch; i++) idx[i] = start + i;
            data.batch(idx, images, labels);
            float[] logits = s.run(Map.of(Classifier.IMAGES, imgT)).get(Classifier.LOGITS).toFloatArray();
            if (first == null) first = logits;
            for (int i = 0; i < batch; i++) {
                predictions[start + i] = Classifier.argmax(logits, i, 10);
                if (predictions[start + i] == (int) labels[i]) correct++;
            }
        }
        return new Evaluation((float) correct / n, predictions, first);
    }

    /** {@code ../shared/data/mnist} next to the working directory or one of its parents. */
    static Path findSharedMnist() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path p = dir.resolveSibling("shared").resolve("data").resolve("mnist");
            if (dir.getParent() != null && Mnist.present(p, Mnist.Split.TRAIN)) return p;
        }
        return null;
    }

    record Options(Path data, boolean generated, int epochs, int trainLimit, int batch, double lr, String backend,
                   Path out, long seed, boolean help) {
        static Options parse(String[] args) {
            Path data = null, out = Path.of("lenet5.stride");
            boolean generated = false, help = false;
            int epochs = 1, limit = 0, batch = 64;
            double lr = 0.01;
            long seed = 1;
            String backend = "cpu";
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--data" -> data = Path.of(value(args, ++i, a));
                    case "--generated" -> generated = true;
                    case "--epochs" -> epochs = positive(value(args, ++i, a), a);
                    case "--train-limit" -> limit = positive(value(args, ++i, a), a);
                    case "--batch" -> batch = positive(value(args, ++i, a), a);
                    case "--lr" -> lr = Double.parseDouble(value(args, ++i, a));
                    case "--backend" -> backend = value(args, ++i, a);
                    case "--out" -> out = Path.of(value(args, ++i, a));
                    case "--seed" -> seed = Long.parseLong(value(args, ++i, a));
                    case "-h", "--help" -> help = true;
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
            }
            if (!(lr > 0)) throw new IllegalArgumentException("--lr must be > 0, got " + lr);
            return new Options(data, generated, epochs, limit, batch, lr, backend, out, seed, help);
        }

        private static String value(String[] args, int i, String option) {
            if (i >= args.length) throw new IllegalArgumentException(option + " needs a value");
            return args[i];
        }

        private static int positive(String s, String option) {
            int v;
            try { v = Integer.parseInt(s); } catch (NumberFormatException e) {
                throw new IllegalArgumentException(option + " expects an integer, got '" + s + "'");
            }
            if (v < 1) throw new IllegalArgumentException(option + " must be >= 1, got " + v);
            return v;
        }
    }
}
