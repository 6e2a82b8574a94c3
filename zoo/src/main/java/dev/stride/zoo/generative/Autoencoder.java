package dev.stride.zoo.generative;

import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Optimizer;
import dev.stride.graph.Plan;
import dev.stride.graph.TrainSpec;
import dev.stride.graph.Value;

/**
 * Dense autoencoders for 1x28x28 images with pixels in [0, 1]: plain, denoising and sparse, one architecture
 *
 * <pre>
 * flatten 784 -> dense(hidden) ReLU -> dense(code) ReLU = code -> dense(hidden) ReLU -> dense(784) = logits
 * reconstruction = sigmoid(logits), reshaped to [N,1,28,28]
 * </pre>
 * The code is a ReLU layer in every variant, so that plain and sparse models differ only in their loss.
 *
 * <p>Loss, against the clean image always: {@link Loss#BCE} = bceWithLogits(logits, x) or {@link Loss#MSE} =
 * mseLoss(sigmoid(logits), x), each a mean over every pixel; plus, when {@code sparsity} = λ > 0, the L1
 * activity penalty λ * mean(|code|), the mean over the batch and the code units (not KL-sparsity).
 *
 * <p>Corruption (denoising autoencoders, Vincent et al., 2008), applied to the input inside the training graph
 * only: {@link Corruption#GAUSSIAN} adds {@code level} * N(0, 1) per pixel (no clipping); {@link Corruption#MASK}
 * zeroes each pixel with probability {@code level} (dropout's mask times (1 - level), which undoes dropout's
 * 1/(1 - level) rescaling, so surviving pixels keep their value). Inference plans never corrupt: they are
 * deterministic.
 *
 * <p>Plans, parameters named {@code enc/...} and {@code dec/...} alike in all of them:
 * {@link #trainingPlan} (inputs {@code images}, {@code lr}; outputs {@code loss}, {@code recon}, {@code penalty},
 * {@code code}; one run is one optimizer step) and {@link #reconstructionPlan} (input {@code images}; outputs
 * {@code reconstruction} [N,1,28,28] in [0, 1] and {@code code} [N, code]).
 */
public final class Autoencoder {
    public static final String IMAGES = "images", LR = "lr", LOSS = "loss", RECON = "recon", PENALTY = "penalty",
            CODE = "code", RECONSTRUCTION = "reconstruction";
    public static final int SIDE = 28, PIXELS = SIDE * SIDE;

    public enum Loss { BCE, MSE }

    public enum Corruption { NONE, GAUSSIAN, MASK }

    /**
     * Layer sizes, loss, input corruption with its level (noise standard deviation, or masking probability in
     * [0, 1)), and the L1 weight λ on the code (0: none).
     */
    public record Config(int hidden, int code, Loss loss, Corruption corruption, double level, double sparsity,
                         DType dtype) {
        public Config {
            if (hidden < 1 || code < 1)
                throw new IllegalArgumentException("layer sizes must be >= 1, got hidden " + hidden + ", code " + code);
            if (loss == null || corruption == null || dtype == null) throw new NullPointerException("loss, corruption, dtype");
            if (!(level >= 0) || !Double.isFinite(level) || corruption == Corruption.MASK && level >= 1)
                throw new IllegalArgumentException("corruption level must be finite and >= 0 (< 1 for masking), got " + level);
            if (!(sparsity >= 0) || !Double.isFinite(sparsity))
                throw new IllegalArgumentException("sparsity weight must be finite and >= 0, got " + sparsity);
        }

        /** Plain: 256 hidden, 32 code units, BCE, no corruption, no penalty, F32. */
        public static Config plain() { return new Config(256, 32, Loss.BCE, Corruption.NONE, 0, 0, DType.F32); }

        /** Denoising with additive Gaussian noise of standard deviation {@code sigma}. */
        public static Config denoising(double sigma) { return plain().withCorruption(Corruption.GAUSSIAN, sigma); }

        /** Sparse with L1 weight {@code lambda} on the code. */
        public static Config sparse(double lambda) { return plain().withSparsity(lambda); }

        public Config withSizes(int h, int c) { return new Config(h, c, loss, corruption, level, sparsity, dtype); }

        public Config withLoss(Loss l) { return new Config(hidden, code, l, corruption, level, sparsity, dtype); }

        public Config withCorruption(Corruption c, double lvl) { return new Config(hidden, code, loss, c, lvl, sparsity, dtype); }

        public Config withSparsity(double lambda) { return new Config(hidden, code, loss, corruption, level, lambda, dtype); }
    }

    private final Config config;

    public Autoencoder(Config config) { this.config = config; }

    public Config config() { return config; }

    /** images [N,1,28,28] -> code [N, code] (ReLU). */
    public Value encode(GraphBuilder b, Value images) {
        try (var s = b.scope("enc")) {
            Value h = b.relu(b.dense("fc1", b.flatten(images), config.hidden()));
            return b.relu(b.dense("code", h, config.code()));
        }
    }

    /** code [N, code] -> logits [N, 784]. */
    public Value decodeLogits(GraphBuilder b, Value code) {
        try (var s = b.scope("dec")) {
            Value h = b.relu(b.dense("fc1", code, config.hidden()));
            return b.dense("out", h, PIXELS);
        }
    }

    /** The corrupted input of a training graph; the identity in an inference graph or with no corruption. */
    Value corrupt(GraphBuilder b, Value x) {
        if (!b.training() || config.level() == 0) return x;
        return switch (config.corruption()) {
            case NONE -> x;
            case GAUSSIAN -> b.add(x, b.scale(b.gaussianNoise(x.shape().dims()), config.level()));
            case MASK -> b.scale(b.dropout(x, config.level()), 1 - config.level());
        };
    }

    /** Adam with PyTorch's defaults. */
    public Plan trainingPlan(int batch) { return trainingPlan(batch, TrainSpec.of(new Optimizer.Adam())); }

    public Plan trainingPlan(int batch, TrainSpec spec) {
        GraphBuilder b = new GraphBuilder(config.dtype(), true);
        Value x = b.input(IMAGES, batch, 1, SIDE, SIDE);
        Value code = encode(b, corrupt(b, x));
        Value logits = decodeLogits(b, code);
        Value target = b.flatten(x);                       // the clean image
        Value recon = switch (config.loss()) {
            case BCE -> b.bceWithLogits(logits, target);
            case MSE -> b.mseLoss(b.sigmoid(logits), target);
        };
        Value penalty = b.scale(b.meanAll(b.abs(code)), config.sparsity());
        Value loss = config.sparsity() > 0 ? b.add(recon, penalty) : recon;
        b.trainStep(loss, spec);
        b.output(LOSS, loss).output(RECON, recon).output(PENALTY, penalty).output(CODE, code);
        return Compiler.compile(b.build());
    }

    /** images -> reconstruction in [0, 1] and the code, with no corruption. */
    public Plan reconstructionPlan(int batch) {
        GraphBuilder b = new GraphBuilder(config.dtype(), false);
        Value x = b.input(IMAGES, batch, 1, SIDE, SIDE);
        Value code = encode(b, x);
        Value out = b.reshape(b.sigmoid(decodeLogits(b, code)), batch, 1, SIDE, SIDE);
        b.output(RECONSTRUCTION, out).output(CODE, code);
        return Compiler.compile(b.build());
    }
}
