package dev.stride.zoo;

import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Plan;
import dev.stride.graph.Optimizer;
import dev.stride.graph.Shape;
import dev.stride.graph.TrainSpec;
import dev.stride.graph.Value;

import java.util.function.BiFunction;

/**
 * Training and inference plans for an image classifier defined once as a function (builder, images) -> logits.
 * Both plans name their parameters identically, so an inference session takes a training session's weights
 * with {@code copyPersistentFrom}.
 *
 * <p>Training plan: inputs {@code images} [B, C, H, W], {@code labels} [B] (class indices), {@code lr} [];
 * outputs {@code loss} (mean softmax cross-entropy) and {@code logits}; one run is one optimizer step (SGD with
 * momentum, or the optimizer of a {@link TrainSpec}).
 * Inference plan: input {@code images}, output {@code logits}.
 */
public final class Classifier {
    private Classifier() {}

    public static final String IMAGES = "images", LABELS = "labels", LR = "lr", LOSS = "loss", LOGITS = "logits";

    public static Plan trainingPlan(BiFunction<GraphBuilder, Value, Value> model, Shape images, DType dtype,
                                    double momentum, double weightDecay, Compiler.Target target) {
        return trainingPlan(model, images, dtype, TrainSpec.of(new Optimizer.Sgd(momentum, weightDecay, false)), target);
    }

    /** The training plan with any optimizer, frozen parameters, learning-rate groups and clipping of {@code spec}. */
    public static Plan trainingPlan(BiFunction<GraphBuilder, Value, Value> model, Shape images, DType dtype,
                                    TrainSpec spec, Compiler.Target target) {
        GraphBuilder b = new GraphBuilder(dtype, true);
        Value x = b.input(IMAGES, images);
        Value labels = b.input(LABELS, images.dim(0));
        Value logits = model.apply(b, x);
        Value loss = b.softmaxCrossEntropy(logits, labels);
        b.trainStep(loss, spec);
        b.output(LOSS, loss).output(LOGITS, logits);
        return Compiler.compile(b.build(), target);
    }

    public static Plan inferencePlan(BiFunction<GraphBuilder, Value, Value> model, Shape images, DType dtype,
                                     Compiler.Target target) {
        GraphBuilder b = new GraphBuilder(dtype, false);
        Value x = b.input(IMAGES, images);
        b.output(LOGITS, model.apply(b, x));
        return Compiler.compile(b.build(), target);
    }

    /** Index of the largest logit in row {@code row} of a [B, classes] array. */
    public static int argmax(float[] logits, int row, int classes) {
        int best = 0;
        for (int c = 1; c < classes; c++) if (logits[row * classes + c] > logits[row * classes + best]) best = c;
        return best;
    }
}
