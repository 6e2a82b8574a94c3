package dev.stride.zoo.generative;

import dev.stride.graph.Compiler;
import dev.stride.graph.ConvSpec;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Optimizer;
import dev.stride.graph.Plan;
import dev.stride.graph.TrainSpec;
import dev.stride.graph.Value;
import dev.stride.graph.op.BroadcastTo;
import dev.stride.graph.op.Fill;

import java.util.function.Predicate;

/**
 * A DCGAN (Radford et al., 2016) for images in [-1, 1], optionally conditional on a class (a cGAN, Mirza and
 * Osindero, 2014), in two geometries. With g = {@code ngf}, f = {@code ndf}, c = {@code channels}:
 *
 * <p><b>28x28</b> ({@link Config#defaults()}, c = 1, MNIST-sized):
 * <pre>
 * generator     z [N, nz, 1, 1] (conditional: concat one-hot [N, classes, 1, 1] on channels)
 *               convT(-> 2g, k7 s1 p0) BN ReLU  [N, 2g, 7, 7]
 *               convT(-> g,  k4 s2 p1) BN ReLU  [N, g, 14, 14]
 *               convT(-> c,  k4 s2 p1) tanh     [N, c, 28, 28]
 * discriminator x [N, c, 28, 28] (conditional: concat one-hot maps [N, classes, 28, 28] on channels)
 *               conv(-> f,  k4 s2 p1) leaky ReLU 0.2     [N, f, 14, 14]
 *               conv(-> 2f, k4 s2 p1) BN leaky ReLU 0.2  [N, 2f, 7, 7]
 *               conv(-> 1,  k7 s1 p0), reshape           [N] logits
 * </pre>
 * <b>64x64</b> ({@link Config#dcgan64()}: nz 100, g = f = 64, c = 3), the network of the paper and of PyTorch's
 * DCGAN example, every convolution without bias:
 * <pre>
 * generator     z [N, nz, 1, 1]
 *               convT(-> 8g, k4 s1 p0) BN ReLU  [N, 8g, 4, 4]      deconv1, bn1
 *               convT(-> 4g, k4 s2 p1) BN ReLU  [N, 4g, 8, 8]      deconv2, bn2
 *               convT(-> 2g, k4 s2 p1) BN ReLU  [N, 2g, 16, 16]    deconv3, bn3
 *               convT(-> g,  k4 s2 p1) BN ReLU  [N, g, 32, 32]     deconv4, bn4
 *               convT(-> c,  k4 s2 p1) tanh     [N, c, 64, 64]     deconv5
 * discriminator x [N, c, 64, 64]
 *               conv(-> f,  k4 s2 p1) leaky ReLU 0.2     [N, f, 32, 32]    conv1
 *               conv(-> 2f, k4 s2 p1) BN leaky ReLU 0.2  [N, 2f, 16, 16]   conv2, bn2
 *               conv(-> 4f, k4 s2 p1) BN leaky ReLU 0.2  [N, 4f, 8, 8]     conv3, bn3
 *               conv(-> 8f, k4 s2 p1) BN leaky ReLU 0.2  [N, 8f, 4, 4]     conv4, bn4
 *               conv(-> 1,  k4 s1 p0), reshape           [N] logits        conv5
 * </pre>
 * (3,576,704 generator and 2,765,568 discriminator parameters, PyTorch's counts.)
 * Convolutions followed by batch norm have no bias, as in DCGAN. Weights are Kaiming normal (DCGAN used N(0, 0.02)).
 *
 * <p><b>Parameters and state.</b> The generator's tensors are named {@code gen/...}, the discriminator's
 * {@code disc/...}, identically in every plan. Each training plan runs its optimizer under its own scope:
 * {@code d_opt/...} in the D step, {@code g_opt/...} in the G step (moments {@code d_opt/disc/<param>/exp_avg},
 * the step count {@code d_opt/adam/t}, the learning-rate input {@code d_opt/lr}; likewise {@code g_opt}), so no
 * optimizer state has a name in both plans and {@code copyPersistentFrom} never carries one optimizer's moments
 * into the other.
 *
 * <p><b>D step</b> ({@link #discriminatorStepPlan}): inputs {@code real} [N, c, side, side] in [-1, 1], {@code z}
 * [N, nz, 1, 1], ({@code labels} [N, classes] one-hot, used for both the real images and the fakes), and
 * {@code d_opt/lr}. The generator runs inside the graph, frozen (no gradient, no update, no optimizer state), in
 * training mode (batch statistics) without touching its running statistics, which this plan does not even hold.
 * The discriminator is applied to the real batch and to the fake batch separately (batch norm statistics per batch,
 * as PyTorch's DCGAN does), its running statistics advanced by both passes. Loss = bce(D(real), 1) + bce(D(fake), 0).
 * Outputs {@code loss}, {@code real_logits} [N], {@code fake_logits} [N], computed before the update.
 *
 * <p><b>G step</b> ({@link #generatorStepPlan}): inputs {@code z}, ({@code labels}), {@code g_opt/lr}; the
 * discriminator frozen; loss = bce(D(G(z)), 1), the non-saturating generator loss. Both networks run in training
 * mode and advance their running statistics (the generator's once, the discriminator's once, as in PyTorch's G step).
 * Outputs {@code loss} and {@code fake_logits}. Fed the same z as the D step before it, with G unchanged by that
 * step, it sees the very fakes the D step saw, as PyTorch's DCGAN reuses {@code fake} for both.
 *
 * <p><b>Keeping sessions in step</b> (see {@link GanTrainer}): after a D step, {@code g.copyPersistentFrom(d)} copies
 * the discriminator's parameters and running statistics (new) and the generator's parameters (unchanged, equal to
 * the G session's); after a G step, {@code d.copyPersistentFrom(g)} copies the generator's parameters (new), the
 * discriminator's running statistics (advanced by the G step) and its parameters (unchanged). The generator's running
 * statistics live only in the G step and the inference generator plan; optimizer state in neither direction.
 *
 * <p>Inference plans: {@link #generatorPlan} ({@code z}, ({@code labels}) -> {@code images} in [-1, 1]) and
 * {@link #discriminatorPlan} ({@code images}, ({@code labels}) -> {@code logits}), batch norm on running statistics.
 */
public final class Dcgan {
    public static final String REAL = "real", Z = "z", LABELS = "labels", IMAGES = "images", LOSS = "loss",
            REAL_LOGITS = "real_logits", FAKE_LOGITS = "fake_logits", LOGITS = "logits";
    /** Optimizer scopes of the two training plans, and their learning-rate inputs. */
    public static final String D_OPT = "d_opt", G_OPT = "g_opt", D_LR = D_OPT + "/lr", G_LR = G_OPT + "/lr";
    /** Name prefixes of the two networks' tensors. */
    public static final String GEN = "gen/", DISC = "disc/";
    /** The side of the default (MNIST-sized) geometry. */
    public static final int SIDE = 28;
    /** The side of the paper's geometry. */
    public static final int SIDE_64 = 64;

    /**
     * Latent size, widths, the number of classes to condition on (0: unconditional), and the images: {@code side}
     * 28 or 64 (the two geometries of the class comment), {@code channels} per image.
     */
    public record Config(int nz, int ngf, int ndf, int classes, DType dtype, int side, int channels) {
        public Config {
            if (nz < 1 || ngf < 1 || ndf < 1)
                throw new IllegalArgumentException("nz, ngf and ndf must be >= 1, got " + nz + ", " + ngf + ", " + ndf);
            if (classes < 0) throw new IllegalArgumentException("classes must be >= 0, got " + classes);
            if (dtype == null) throw new NullPointerException("dtype");
            if (side != SIDE && side != SIDE_64)
                throw new IllegalArgumentException("image side must be " + SIDE + " or " + SIDE_64 + ", got " + side);
            if (channels < 1) throw new IllegalArgumentException("channels must be >= 1, got " + channels);
        }

        /** 1x28x28 images. */
        public Config(int nz, int ngf, int ndf, int classes, DType dtype) { this(nz, ngf, ndf, classes, dtype, SIDE, 1); }

        /** nz 100, widths 64 (so 128 and 64 channels in G, 64 and 128 in D), unconditional, F32, 1x28x28. */
        public static Config defaults() { return new Config(100, 64, 64, 0, DType.F32); }

        /** The paper's: nz 100, widths 64 (512-256-128-64 in G), unconditional, F32, 3x64x64 images. */
        public static Config dcgan64() { return new Config(100, 64, 64, 0, DType.F32, SIDE_64, 3); }

        public Config withNz(int n) { return new Config(n, ngf, ndf, classes, dtype, side, channels); }

        public Config withWidths(int g, int d) { return new Config(nz, g, d, classes, dtype, side, channels); }

        /** Conditional on {@code c} classes. */
        public Config withClasses(int c) { return new Config(nz, ngf, ndf, c, dtype, side, channels); }

        /** Images of {@code s x s} pixels (28 or 64) with {@code c} channels. */
        public Config withImages(int s, int c) { return new Config(nz, ngf, ndf, classes, dtype, s, c); }

        public boolean conditional() { return classes > 0; }
    }

    /** DCGAN's Adam: lr 2e-4 is fed per run, betas (0.5, 0.999). */
    public static Optimizer dcganAdam() { return new Optimizer.Adam(0.5, 0.999, 1e-8, 0); }

    private static final ConvSpec UP = ConvSpec.defaults().stride(2).pad(1).bias(false);
    private static final double SLOPE = 0.2;

    private final Config config;

    public Dcgan(Config config) { this.config = config; }

    public Config config() { return config; }

    public static boolean isGenerator(String name) { return name.startsWith(GEN); }

    public static boolean isDiscriminator(String name) { return name.startsWith(DISC); }

    // ---- the networks ----

    /** z [N, nz, 1, 1] (and one-hot labels [N, classes]) -> images [N, channels, side, side] in [-1, 1]. */
    Value generator(SharedLayers l, Value z, Value labels, boolean track) {
        GraphBuilder b = l.builder();
        int n = z.shape().dim(0), g = config.ngf();
        Value h = z;
        if (config.conditional()) h = b.concat(1, z, b.reshape(labels, n, config.classes(), 1, 1));
        if (config.side() == SIDE_64) {
            int[] widths = {8 * g, 4 * g, 2 * g, g};
            for (int i = 0; i < widths.length; i++) {
                ConvSpec spec = i == 0 ? ConvSpec.defaults().bias(false) : UP;
                h = l.convTranspose("gen/deconv" + (i + 1), h, widths[i], 4, spec);
                h = b.relu(l.batchNorm("gen/bn" + (i + 1), h, track));
            }
            return b.tanh(l.convTranspose("gen/deconv5", h, config.channels(), 4, UP));
        }
        h = l.convTranspose("gen/deconv1", h, 2 * g, 7, ConvSpec.defaults().bias(false));
        h = b.relu(l.batchNorm("gen/bn1", h, track));
        h = l.convTranspose("gen/deconv2", h, g, 4, UP);
        h = b.relu(l.batchNorm("gen/bn2", h, track));
        h = l.convTranspose("gen/deconv3", h, config.channels(), 4, ConvSpec.defaults().stride(2).pad(1));
        return b.tanh(h);
    }

    /** images [N, channels, side, side] (and one-hot labels [N, classes]) -> logits [N]. */
    Value discriminator(SharedLayers l, Value images, Value labels, boolean track) {
        GraphBuilder b = l.builder();
        int n = images.shape().dim(0), f = config.ndf(), side = config.side();
        Value h = images;
        if (config.conditional()) {
            Value maps = b.apply("label_maps", new BroadcastTo(new int[] {n, config.classes(), side, side}),
                    b.reshape(labels, n, config.classes(), 1, 1));
            h = b.concat(1, images, maps);
        }
        ConvSpec down = ConvSpec.defaults().stride(2).pad(1);
        if (side == SIDE_64) {
            h = b.leakyRelu(l.conv("disc/conv1", h, f, 4, down.bias(false), SLOPE), SLOPE);
            for (int i = 2; i <= 4; i++) {
                h = l.conv("disc/conv" + i, h, f << (i - 1), 4, down.bias(false), SLOPE);
                h = b.leakyRelu(l.batchNorm("disc/bn" + i, h, track), SLOPE);
            }
            return b.reshape(l.conv("disc/conv5", h, 1, 4, ConvSpec.defaults().bias(false), 1), n);
        }
        h = b.leakyRelu(l.conv("disc/conv1", h, f, 4, down, SLOPE), SLOPE);
        h = l.conv("disc/conv2", h, 2 * f, 4, down.bias(false), SLOPE);
        h = b.leakyRelu(l.batchNorm("disc/bn2", h, track), SLOPE);
        h = l.conv("disc/conv3", h, 1, 7, ConvSpec.defaults(), 1);
        return b.reshape(h, n);
    }

    /** Shape of a batch of images: [batch, channels, side, side]. */
    public int[] imageShape(int batch) { return new int[] {batch, config.channels(), config.side(), config.side()}; }

    private Value zInput(GraphBuilder b, int batch) { return b.input(Z, batch, config.nz(), 1, 1); }

    private Value labelsInput(GraphBuilder b, int batch) {
        return config.conditional() ? b.input(LABELS, batch, config.classes()) : null;
    }

    private static Value constant(GraphBuilder b, int n, double v) {
        return b.apply(v == 0 ? "zeros" : "ones", new Fill(new int[] {n}, v));
    }

    // ---- plans ----

    /** The D step with DCGAN's Adam. */
    public Plan discriminatorStepPlan(int batch) { return discriminatorStepPlan(batch, TrainSpec.of(dcganAdam())); }

    /** The D step; {@code spec}'s frozen predicate is widened to freeze the whole generator. */
    public Plan discriminatorStepPlan(int batch, TrainSpec spec) {
        return discriminatorStepPlan(batch, spec, Compiler.Target.reference());
    }

    /** The D step compiled for {@code target}. */
    public Plan discriminatorStepPlan(int batch, TrainSpec spec, Compiler.Target target) {
        GraphBuilder b = new GraphBuilder(config.dtype(), true);
        Value real = b.input(REAL, imageShape(batch));
        Value z = zInput(b, batch);
        Value labels = labelsInput(b, batch);
        SharedLayers l = new SharedLayers(b);
        Value fake = generator(l, z, labels, false);
        Value realLogits = discriminator(l, real, labels, true);
        Value fakeLogits = discriminator(l, fake, labels, true);
        l.finish();
        Value loss = b.add(b.bceWithLogits(realLogits, constant(b, batch, 1)),
                b.bceWithLogits(fakeLogits, constant(b, batch, 0)));
        Predicate<String> frozen = spec.frozen().or(Dcgan::isGenerator);
        try (var s = b.scope(D_OPT)) {
            b.trainStep(loss, spec.withFrozen(frozen));
        }
        b.output(LOSS, loss).output(REAL_LOGITS, realLogits).output(FAKE_LOGITS, fakeLogits);
        return Compiler.compile(b.build(), target);
    }

    /** The G step with DCGAN's Adam. */
    public Plan generatorStepPlan(int batch) { return generatorStepPlan(batch, TrainSpec.of(dcganAdam())); }

    /** The G step; {@code spec}'s frozen predicate is widened to freeze the whole discriminator. */
    public Plan generatorStepPlan(int batch, TrainSpec spec) {
        return generatorStepPlan(batch, spec, Compiler.Target.reference());
    }

    /** The G step compiled for {@code target}. */
    public Plan generatorStepPlan(int batch, TrainSpec spec, Compiler.Target target) {
        GraphBuilder b = new GraphBuilder(config.dtype(), true);
        Value z = zInput(b, batch);
        Value labels = labelsInput(b, batch);
        SharedLayers l = new SharedLayers(b);
        Value fakeLogits = discriminator(l, generator(l, z, labels, true), labels, true);
        l.finish();
        Value loss = b.bceWithLogits(fakeLogits, constant(b, batch, 1));
        Predicate<String> frozen = spec.frozen().or(Dcgan::isDiscriminator);
        try (var s = b.scope(G_OPT)) {
            b.trainStep(loss, spec.withFrozen(frozen));
        }
        b.output(LOSS, loss).output(FAKE_LOGITS, fakeLogits);
        return Compiler.compile(b.build(), target);
    }

    /** z (and labels) -> images in [-1, 1], batch norm on running statistics. */
    public Plan generatorPlan(int batch) { return generatorPlan(batch, false); }

    /**
     * z (and labels) -> images in [-1, 1]. With {@code batchStatistics} the generator's batch norm normalises with
     * the statistics of the batch it is given, as in training (how PyTorch's DCGAN example samples, its generator
     * never switched to eval mode), and the running statistics are neither used nor updated; otherwise it uses
     * the running statistics, so each image depends on its own z alone.
     */
    public Plan generatorPlan(int batch, boolean batchStatistics) {
        GraphBuilder b = new GraphBuilder(config.dtype(), batchStatistics);
        Value z = zInput(b, batch);
        Value labels = labelsInput(b, batch);
        b.output(IMAGES, generator(new SharedLayers(b), z, labels, false));
        return Compiler.compile(b.build());
    }

    /** images in [-1, 1] (and labels) -> logits [N], batch norm on running statistics. */
    public Plan discriminatorPlan(int batch) {
        GraphBuilder b = new GraphBuilder(config.dtype(), false);
        Value x = b.input(IMAGES, imageShape(batch));
        Value labels = labelsInput(b, batch);
        b.output(LOGITS, discriminator(new SharedLayers(b), x, labels, false));
        return Compiler.compile(b.build());
    }
}
