package dev.stride.tools;

import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Plan;
import dev.stride.graph.PlanFile;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.zoo.Classifier;
import dev.stride.zoo.ImageClassifier;
import dev.stride.zoo.LeNet5;
import dev.stride.zoo.ResNetBlocks;
import dev.stride.zoo.Zoo;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.BiFunction;

/** {@code stride plan build MODEL -o FILE}: compiles a zoo model (inference or one training step) into a plan file. */
final class PlanBuild {
    private PlanBuild() {}

    static final String USAGE = """
            usage: stride plan build MODEL -o FILE [--batch N] [--size S] [--training] [--f64]
              MODEL: lenet5 (input [N,1,28,28], 10 classes)
                     resnet-block (one ResNet basic block, 64 channels, 56x56, as in ResNet-18's layer1)
                     %s
                       (ImageNet classifiers: input [N,3,S,S], S = 224 unless --size, 1000 classes)
              --training   compile one SGD training step (forward, backward, update) instead of inference
            """.formatted(String.join(", ", Zoo.CLASSIFIERS));

    static int run(String[] args) throws IOException {
        String model = null;
        Path out = null;
        int batch = 1, size = 0;
        boolean training = false;
        DType dtype = DType.F32;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "-o", "--out" -> out = i + 1 < args.length ? Path.of(args[++i]) : null;
                case "--batch" -> batch = i + 1 < args.length ? Integer.parseInt(args[++i]) : 0;
                case "--size" -> size = i + 1 < args.length ? Integer.parseInt(args[++i]) : -1;
                case "--training" -> training = true;
                case "--f64" -> dtype = DType.F64;
                case "-h", "--help" -> { System.out.print(USAGE); return 0; }
                default -> {
                    if (args[i].startsWith("-") || model != null) {
                        System.err.println("stride plan build: unexpected argument '" + args[i] + "'");
                        System.err.print(USAGE);
                        return 2;
                    }
                    model = args[i];
                }
            }
        }
        if (model == null || out == null || batch < 1 || size < 0) { System.err.print(USAGE); return 2; }
        Plan plan = switch (model) {
            case "lenet5" -> classifier(LeNet5::logits, Shape.of(batch, 1, 28, 28), dtype, training);
            case "resnet-block" -> resnetBlock(batch, dtype, training);
            default -> {
                if (!Zoo.CLASSIFIERS.contains(model)) yield null;
                ImageClassifier m = Zoo.classifier(model);
                yield classifier(m::logits, m.inputShape(batch, size > 0 ? size : m.defaultSize()), dtype, training);
            }
        };
        if (plan == null) {
            System.err.println("stride plan build: unknown model '" + model + "'");
            System.err.print(USAGE);
            return 2;
        }
        PlanFile.save(plan, out);
        System.out.printf("%s: %s %s plan, %d nodes, arena %s (naive sum %s), written to %s%n", model,
                training ? "training" : "inference", dtype, plan.schedule().length,
                Units.bytes(plan.memory().arenaBytes()), Units.bytes(plan.memory().naiveArenaBytes()), out);
        return 0;
    }

    private static Plan classifier(BiFunction<GraphBuilder, Value, Value> net, Shape input, DType dtype, boolean training) {
        return training
                ? Classifier.trainingPlan(net, input, dtype, 0.9, 0, Compiler.Target.reference())
                : Classifier.inferencePlan(net, input, dtype, Compiler.Target.reference());
    }

    /** ResNet-18 layer1's basic block; trained against an MSE target, as a block has no classifier of its own. */
    static Plan resnetBlock(int batch, DType dtype, boolean training) {
        GraphBuilder b = new GraphBuilder(dtype, training);
        Value x = b.input("x", batch, 64, 56, 56);
        Value y = ResNetBlocks.basicBlock(b, "layer1.0", x, 64, 1);
        b.output("y", y);
        if (training) {
            Value target = b.input("target", y.shape());
            Value loss = b.mseLoss(y, target);
            b.sgdStep(loss, 0.9);
            b.output("loss", loss);
        }
        return Compiler.compile(b.build());
    }
}
