package dev.stride.tools;

import dev.stride.engine.SessionOptions;
import dev.stride.graph.Optimizer;
import dev.stride.graph.PlanFile;
import dev.stride.graph.Schedule;
import dev.stride.zoo.LeNet5;
import dev.stride.zoo.SmallCnn;
import dev.stride.zoo.data.Augment;
import dev.stride.zoo.data.AugmentedDataset;
import dev.stride.zoo.data.Batches;
import dev.stride.zoo.data.Cifar10;
import dev.stride.zoo.data.Mnist;
import dev.stride.zoo.data.Normalize;
import dev.stride.zoo.train.EarlyStopping;
import dev.stride.zoo.train.Trainer;
import dev.stride.zoo.train.TrainerConfig;

import java.io.IOException;
import java.nio.file.Path;

/** {@code stride train MODEL --data DIR ...}: trains a zoo model with the Trainer (checkpoints, logs, resume). */
final class TrainCommand {
    private TrainCommand() {}

    static final String USAGE = """
            usage: stride train MODEL --data DIR [options]
              MODEL                  lenet5 | small-cnn (conv-BN-ReLU x2, 128-unit dense; for Fashion-MNIST)
              --data DIR             dataset directory
              --format F             mnist (IDX files, MNIST or Fashion-MNIST; default) | cifar10 (binary batches)
              --epochs N             default 10
              --batch N              default 64
              --optimizer O          sgd (momentum 0.9; default) | nesterov | adam | adamw | rmsprop
              --lr X                 base (or peak) learning rate; default 0.01
              --weight-decay X       default 0
              --schedule S           constant | step:EPOCHS:GAMMA | cosine:WARMUP_EPOCHS | onecycle (default cosine:0)
              --augment              random crop with padding and small rotations (MNIST) / crop and flip (CIFAR)
              --flip                 with --augment on IDX data: also flip left-right (Fashion-MNIST; not digits)
              --train-limit N        first N training samples only
              --out DIR              checkpoints, training.csv, loss.png, accuracy.png, model.stride (default runs/MODEL)
              --checkpoint DIR       where checkpoint.ckpt is written at every epoch end (default: the --out directory)
              --checkpoint-every N   also checkpoint every N steps (default: every epoch only)
              --resume FILE          continue the run that wrote this checkpoint
              --early-stop N         stop after N epochs without a better test loss, keep the best weights
              --seed N               default 1
              --backend NAME         cpu (default) | reference | cuda (a GPU: see stride doctor)
              --threads N            worker threads (default: all cores)
            """;

    static int run(String[] args) throws IOException {
        String model = null, format = "mnist", optimizer = "sgd", schedule = "cosine:0";
        Path data = null, out = null, resume = null, checkpointDir = null;
        int epochs = 10, batch = 64, limit = 0, patience = 0;
        long checkpointEvery = 0, seed = 1;
        double lr = 0.01, wd = 0;
        boolean augment = false, flip = false;
        String backend = "cpu";
        int threads = SessionOptions.defaults().threads();
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--data" -> data = Path.of(value(args, ++i, a));
                    case "--format" -> format = value(args, ++i, a);
                    case "--epochs" -> epochs = Integer.parseInt(value(args, ++i, a));
                    case "--batch" -> batch = Integer.parseInt(value(args, ++i, a));
                    case "--optimizer" -> optimizer = value(args, ++i, a);
                    case "--lr" -> lr = Double.parseDouble(value(args, ++i, a));
                    case "--weight-decay" -> wd = Double.parseDouble(value(args, ++i, a));
                    case "--schedule" -> schedule = value(args, ++i, a);
                    case "--augment" -> augment = true;
                    case "--flip" -> flip = true;
                    case "--train-limit" -> limit = Integer.parseInt(value(args, ++i, a));
                    case "--out" -> out = Path.of(value(args, ++i, a));
                    case "--checkpoint" -> checkpointDir = Path.of(value(args, ++i, a));
                    case "--checkpoint-every" -> checkpointEvery = Long.parseLong(value(args, ++i, a));
                    case "--resume" -> resume = Path.of(value(args, ++i, a));
                    case "--early-stop" -> patience = Integer.parseInt(value(args, ++i, a));
                    case "--seed" -> seed = Long.parseLong(value(args, ++i, a));
                    case "--backend" -> backend = value(args, ++i, a);
                    case "--threads" -> threads = Integer.parseInt(value(args, ++i, a));
                    case "-h", "--help" -> { System.out.print(USAGE); return 0; }
                    default -> {
                        if (a.startsWith("-") || model != null) throw new IllegalArgumentException("unexpected argument '" + a + "'");
                        model = a;
                    }
                }
            }
            if (model == null || !MODELS.containsKey(model))
                throw new IllegalArgumentException("unknown or missing MODEL '" + model + "' (one of " + MODELS.keySet() + ")");
            if (data == null) throw new IllegalArgumentException("--data DIR is required");
        } catch (IllegalArgumentException e) {   // NumberFormatException included
            System.err.println("stride train: " + e.getMessage());
            System.err.print(USAGE);
            return 2;
        }
        if (out == null) out = Path.of("runs", model);

        Batches.Dataset train, test;
        Augment aug;
        Normalize norm;
        switch (format) {
            case "mnist" -> {
                train = Mnist.load(data, Mnist.Split.TRAIN, limit);
                test = Mnist.load(data, Mnist.Split.TEST, 0);
                aug = flip ? Augment.mnist().withFlip(0.5) : Augment.mnist();
                norm = new Normalize(new float[] {Mnist.MEAN}, new float[] {Mnist.STD});
            }
            case "cifar10" -> {
                train = Cifar10.load(data, Cifar10.Split.TRAIN, limit);
                test = Cifar10.load(data, Cifar10.Split.TEST);
                aug = Augment.cifar();
                norm = Cifar10.STATS;
            }
            default -> {
                System.err.println("stride train: unknown --format '" + format + "' (mnist, cifar10)");
                return 2;
            }
        }
        // Augment the raw pixels, then normalise, so that padding is black rather than the mean.
        if (augment) train = new AugmentedDataset(train, aug, seed);
        train = norm.wrap(train);
        test = norm.wrap(test);

        int stepsPerEpoch = train.size() / batch;
        TrainerConfig config = TrainerConfig.defaults().withEpochs(epochs).withBatchSize(batch).withSeed(seed)
                .withOptimizer(optimizer(optimizer, wd)).withSchedule(schedule(schedule, lr, stepsPerEpoch, epochs))
                .withCheckpointDir(checkpointDir != null ? checkpointDir : out).withCheckpointEvery(checkpointEvery).withLogDir(out)
                .withEarlyStopping(patience > 0 ? EarlyStopping.onEvalLoss(patience, 0) : EarlyStopping.off())
                .withBackend(backend).withThreads(threads);
        System.out.printf("training %s on %s (%d train, %d test), %d epochs of %d steps, %s, schedule %s, backend %s"
                        + " (%d threads), output in %s%n", model, data, train.size(), test.size(), epochs, stepsPerEpoch,
                config.trainSpec().optimizer(), schedule, backend, threads, out);
        var net = MODELS.get(model);
        Trainer trainer;
        try {
            trainer = resume == null ? Trainer.create(net, train, test, config) : Trainer.resume(net, train, test, config, resume);
        } catch (IllegalArgumentException e) {         // a checkpoint of another run, or no full batch in the data
            System.err.println("stride train: " + e.getMessage());
            return 1;
        }
        try (Trainer t = trainer) {
            long start = System.nanoTime();
            Trainer.Result r = t.fit();
            double secs = (System.nanoTime() - start) / 1e9;
            var last = r.log().epochs().getLast();
            System.out.printf("done: %d steps in %.1f s (%.1f s per epoch); best epoch %d; final test accuracy %.2f%%, top-5 %.2f%%, loss %.4f%s%n",
                    r.steps(), secs, secs / Math.max(1, r.log().epochs().size()), r.bestEpoch(), 100 * last.accuracy(),
                    100 * last.topKAccuracy(), last.evalLoss(), r.stoppedEarly() ? " (stopped early)" : "");
            t.inferenceSession().copyPersistentFrom(t.session());
            Path plan = out.resolve("model.stride");
            PlanFile.save(t.inferenceSession().snapshot(), plan);
            System.out.println("inference plan with the trained weights: " + plan);
        }
        return 0;
    }

    /** The zoo models this command trains, by name. */
    static final java.util.Map<String, java.util.function.BiFunction<dev.stride.graph.GraphBuilder, dev.stride.graph.Value,
            dev.stride.graph.Value>> MODELS = java.util.Map.of("lenet5", LeNet5::logits, "small-cnn", SmallCnn::logits);

    static Optimizer optimizer(String name, double wd) {
        return switch (name) {
            case "sgd" -> new Optimizer.Sgd(0.9, wd, false);
            case "nesterov" -> new Optimizer.Sgd(0.9, wd, true);
            case "adam" -> new Optimizer.Adam(0.9, 0.999, 1e-8, wd);
            case "adamw" -> new Optimizer.AdamW(0.9, 0.999, 1e-8, wd);
            case "rmsprop" -> new Optimizer.RmsProp(0.99, 1e-8, 0, wd, false);
            default -> throw new IllegalArgumentException("unknown --optimizer '" + name + "'");
        };
    }

    static Schedule schedule(String spec, double lr, int stepsPerEpoch, int epochs) {
        String[] p = spec.split(":");
        long total = (long) stepsPerEpoch * epochs;
        return switch (p[0]) {
            case "constant" -> TrainerConfig.constant(lr);
            case "step" -> new Schedule.StepDecay(lr, (long) Integer.parseInt(p[1]) * stepsPerEpoch, Double.parseDouble(p[2]));
            case "cosine" -> new Schedule.CosineWarmup(lr, (long) Integer.parseInt(p.length > 1 ? p[1] : "0") * stepsPerEpoch, total, 0);
            case "onecycle" -> new Schedule.OneCycle(lr, total);
            default -> throw new IllegalArgumentException("unknown --schedule '" + spec + "'");
        };
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) throw new IllegalArgumentException(option + " needs a value");
        return args[i];
    }
}
