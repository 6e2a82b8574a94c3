package dev.stride.zoo;

import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Optimizer;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.TrainSpec;
import dev.stride.graph.Value;

/**
 * An image classifier of the zoo: a function (builder, images [N, C, H, W]) -> logits [N, classes], built with the
 * layer DSL, so that one definition gives the inference graph (batch norm on running statistics, dropout off) and
 * the training graph (batch statistics, dropout on) through {@link Classifier}.
 *
 * <p><b>Names.</b> Every parameter and state tensor is named after the PyTorch module it corresponds to, with
 * {@code /} where PyTorch writes {@code .}: {@code layer1.0/conv1/weight} is torchvision's
 * {@code layer1.0.conv1.weight}, {@code bn1/running_mean} its {@code bn1.running_mean} ({@link #torchName}).
 * Each model's javadoc says which PyTorch definition it follows; importing its weights is then a rename.
 */
public interface ImageClassifier {
    /** Short lower-case name: {@code resnet18}, {@code vgg16}, {@code mobilenet_v1}. */
    String name();

    /** Number of output classes. */
    int classes();

    /** Input channels. */
    default int channels() { return 3; }

    /** The input side length the model was designed for (the weights of a pretrained model expect it). */
    default int defaultSize() { return 224; }

    /** Adds the network to {@code b}: images [N, channels, H, W] -> logits [N, classes]. */
    Value logits(GraphBuilder b, Value images);

    default Shape inputShape(int batch, int size) { return Shape.of(batch, channels(), size, size); }

    /** Input {@code images} [batch, channels, size, size] -> output {@code logits}, float32. */
    default Plan inferencePlan(int batch, int size, Compiler.Target target) {
        return Classifier.inferencePlan(this::logits, inputShape(batch, size), DType.F32, target);
    }

    /**
     * One optimizer step per run (inputs {@code images}, {@code labels}, {@code lr}; outputs {@code loss},
     * {@code logits}), float32; see {@link Classifier#trainingPlan}.
     */
    default Plan trainingPlan(int batch, int size, TrainSpec spec, Compiler.Target target) {
        return Classifier.trainingPlan(this::logits, inputShape(batch, size), DType.F32, spec, target);
    }

    /** The training plan with SGD, momentum 0.9, weight decay 1e-4 (the ImageNet recipe of ResNet). */
    default Plan trainingPlan(int batch, int size, Compiler.Target target) {
        return trainingPlan(batch, size, TrainSpec.of(new Optimizer.Sgd(0.9, 1e-4, false)), target);
    }

    /** Trainable parameters (elements) of a graph: what PyTorch's {@code sum(p.numel() for p in m.parameters())} counts. */
    static long parameterCount(Graph g) {
        long n = 0;
        for (Value v : g.values()) if (v.kind() == Value.Kind.PARAM) n += v.shape().size();
        return n;
    }

    /** The PyTorch state-dict key of a Stride tensor name: {@code layer1.0/conv1/weight} -> {@code layer1.0.conv1.weight}. */
    static String torchName(String strideName) { return strideName.replace('/', '.'); }
}
