package dev.stride.zoo.generative;

import dev.stride.graph.Compiler;
import dev.stride.graph.ConvSpec;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Optimizer;
import dev.stride.graph.Plan;
import dev.stride.graph.TrainSpec;
import dev.stride.graph.Value;

/**
 * A convolutional variational autoencoder (Kingma and Welling, 2014) for 1x28x28 images with pixels in [0, 1]
 * (read as Bernoulli probabilities).
 *
 * <pre>
 * encoder: conv(1->c1, 4, s2, p1) ReLU  [N, c1, 14, 14]
 *          conv(c1->c2, 4, s2, p1) ReLU [N, c2, 7, 7]
 *          flatten, dense -> mu [N, d], dense -> logvar [N, d]
 * decoder: dense(d -> c2*7*7), reshape [N, c2, 7, 7]
 *          convTranspose(c2->c1, 4, s2, p1) ReLU [N, c1, 14, 14]
 *          convTranspose(c1->1, 4, s2, p1)      [N, 1, 28, 28] logits
 * </pre>
 * with c1 = 32, c2 = 64 and d = 16 by default.
 *
 * <p>Loss: the negative ELBO per image in nats, {@code recon + kl}, where {@code recon} is the Bernoulli negative
 * log-likelihood summed over the 784 pixels of an image ({@code bceWithLogits}, a mean over every element, times
 * 784) and {@code kl} = KL(N(mu, exp(logvar)) || N(0, I)) summed over the latent dimensions; both averaged over the
 * batch. z = mu + exp(logvar/2)*eps is drawn with fresh eps on every run (the reparameterisation trick).
 *
 * <p>Plans, all naming their parameters {@code enc/...} and {@code dec/...} alike so that sessions copy weights with
 * {@code copyPersistentFrom}:
 * <ul>
 * <li>{@link #trainingPlan}: inputs {@code images} [B,1,28,28], {@code lr}; outputs {@code loss}, {@code recon},
 *     {@code kl}; one run is one optimizer step (Adam by default).
 * <li>{@link #evaluationPlan}: inputs {@code images}; outputs {@code loss}, {@code recon}, {@code kl}: a one-sample
 *     Monte-Carlo estimate of the negative ELBO (one eps per image, fresh each run), not the exact bound.
 * <li>{@link #reconstructionPlan}: {@code images} -> {@code reconstruction} = sigmoid(decoder(mu)), deterministic;
 *     also outputs {@code mu} and {@code logvar}.
 * <li>{@link #samplingPlan}: {@code z} [B, d] -> {@code samples} = sigmoid(decoder(z)); feed z ~ N(0, I) to sample.
 * </ul>
 */
public final class ConvVae {
    public static final String IMAGES = "images", Z = "z", LR = "lr", LOSS = "loss", RECON = "recon", KL = "kl",
            RECONSTRUCTION = "reconstruction", SAMPLES = "samples", MU = "mu", LOGVAR = "logvar";
    public static final int SIDE = 28, PIXELS = SIDE * SIDE;

    /** Latent size and the two convolution widths. */
    public record Config(int latent, int c1, int c2, DType dtype) {
        public Config {
            if (latent < 1 || c1 < 1 || c2 < 1)
                throw new IllegalArgumentException("latent size and widths must be >= 1, got " + latent + ", " + c1 + ", " + c2);
        }

        /** d = 16, widths 32 and 64, F32. */
        public static Config defaults() { return new Config(16, 32, 64, DType.F32); }

        public Config withLatent(int d) { return new Config(d, c1, c2, dtype); }

        public Config withWidths(int w1, int w2) { return new Config(latent, w1, w2, dtype); }
    }

    private static final ConvSpec DOWN = ConvSpec.defaults().stride(2).pad(1);

    private final Config config;

    public ConvVae(Config config) { this.config = config; }

    public ConvVae() { this(Config.defaults()); }

    public Config config() { return config; }

    /** The encoder: images [N,1,28,28] -> {mu, logvar}, each [N, d]. */
    public Value[] encode(GraphBuilder b, Value images) {
        try (var s = b.scope("enc")) {
            Value h = b.relu(b.conv2d("conv1", images, config.c1(), 4, DOWN));
            h = b.relu(b.conv2d("conv2", h, config.c2(), 4, DOWN));
            h = b.flatten(h);
            return new Value[] {b.dense("mu", h, config.latent()), b.dense("logvar", h, config.latent())};
        }
    }

    /** The decoder: z [N, d] -> logits [N,1,28,28]. */
    public Value decodeLogits(GraphBuilder b, Value z) {
        try (var s = b.scope("dec")) {
            Value h = b.dense("fc", z, config.c2() * 7 * 7);
            h = b.reshape(h, z.shape().dim(0), config.c2(), 7, 7);
            h = b.relu(b.convTranspose2d("deconv1", h, config.c1(), 4, DOWN));
            return b.convTranspose2d("deconv2", h, 1, 4, DOWN);
        }
    }

    /** {@code [loss, recon, kl]} of the negative ELBO for {@code images} (sampling z once per image). */
    private Value[] negativeElbo(GraphBuilder b, Value images) {
        Value[] q = encode(b, images);
        Value z = b.reparameterize(q[0], q[1]);
        Value logits = decodeLogits(b, z);
        // bceWithLogits is a mean over every element; times the pixels per image it is the per-image sum,
        // averaged over the batch, the same normalisation as gaussianKl's.
        Value recon = b.scale(b.bceWithLogits(logits, images), PIXELS);
        Value kl = b.gaussianKl(q[0], q[1]);
        return new Value[] {b.add(recon, kl), recon, kl};
    }

    /** Adam with PyTorch's defaults. */
    public Plan trainingPlan(int batch) { return trainingPlan(batch, TrainSpec.of(new Optimizer.Adam())); }

    public Plan trainingPlan(int batch, TrainSpec spec) { return trainingPlan(batch, spec, Compiler.Target.reference()); }

    /** The training plan compiled for {@code target} (the benchmarks compile it for the cpu backend). */
    public Plan trainingPlan(int batch, TrainSpec spec, Compiler.Target target) {
        GraphBuilder b = new GraphBuilder(config.dtype(), true);
        Value x = b.input(IMAGES, batch, 1, SIDE, SIDE);
        Value[] l = negativeElbo(b, x);
        b.trainStep(l[0], spec);
        b.output(LOSS, l[0]).output(RECON, l[1]).output(KL, l[2]);
        return Compiler.compile(b.build(), target);
    }

    /** The one-sample estimate of the negative ELBO, per image, averaged over the batch. */
    public Plan evaluationPlan(int batch) {
        GraphBuilder b = new GraphBuilder(config.dtype(), false);
        Value x = b.input(IMAGES, batch, 1, SIDE, SIDE);
        Value[] l = negativeElbo(b, x);
        b.output(LOSS, l[0]).output(RECON, l[1]).output(KL, l[2]);
        return Compiler.compile(b.build());
    }

    /** images -> sigmoid(decoder(mu)), the mean code's reconstruction in [0, 1]. */
    public Plan reconstructionPlan(int batch) {
        GraphBuilder b = new GraphBuilder(config.dtype(), false);
        Value x = b.input(IMAGES, batch, 1, SIDE, SIDE);
        Value[] q = encode(b, x);
        b.output(RECONSTRUCTION, b.sigmoid(decodeLogits(b, q[0]))).output(MU, q[0]).output(LOGVAR, q[1]);
        return Compiler.compile(b.build());
    }

    /** z [batch, d] -> sigmoid(decoder(z)) in [0, 1]. */
    public Plan samplingPlan(int batch) {
        GraphBuilder b = new GraphBuilder(config.dtype(), false);
        Value z = b.input(Z, batch, config.latent());
        b.output(SAMPLES, b.sigmoid(decodeLogits(b, z)));
        return Compiler.compile(b.build());
    }
}
