package dev.stride.tools;

import dev.stride.engine.BackendUnavailableException;
import dev.stride.graph.PlanFile;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/** The {@code stride} command. */
public final class Stride {
    private Stride() {}

    static final String USAGE = """
            usage: stride COMMAND [options]
              demo                         train LeNet-5, save its plan, reload it and check it (stride demo --help)
              train MODEL --data DIR       train a zoo model with checkpoints, logs and plots (stride train --help)
              vae --data DIR               train the conv VAE: test ELBO, reconstruction and sample grids (stride vae --help)
              gan --data DIR               train a DCGAN (--conditional: one row per digit), samples and loss curves
              plan build MODEL -o FILE     compile a zoo model into a plan file (stride plan build --help)
              plan explain FILE            per node: op, output shape, FLOPs, algorithm, buffer offset and size
              doctor                       JDK, CPU vector width, backends, CUDA libraries, versions and GPUs found
              import MODEL.onnx -o FILE    import an ONNX model, compile it and save the plan with its weights
              run FILE --input NAME=T.pb   run a plan on inputs from ONNX TensorProto (.pb) or .npy files
              help                         this text
            """;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String[] args) {
        if (args.length == 0) { System.err.print(USAGE); return 2; }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            return switch (args[0]) {
                case "demo" -> Demo.run(rest);
                case "train" -> TrainCommand.run(rest);
                case "vae" -> GenerativeCommand.vae(rest);
                case "gan" -> GenerativeCommand.gan(rest);
                case "plan" -> plan(rest);
                case "doctor" -> Doctor.run(rest);
                case "import" -> ImportCommand.run(rest);
                case "run" -> RunCommand.run(rest);
                case "help", "-h", "--help" -> { System.out.print(USAGE); yield 0; }
                default -> { System.err.println("stride: unknown command '" + args[0] + "'"); System.err.print(USAGE); yield 2; }
            };
        } catch (IOException | BackendUnavailableException e) {
            System.err.println("stride: " + e.getMessage());
            return 1;
        }
    }

    private static int plan(String[] args) throws IOException {
        if (args.length >= 1 && args[0].equals("build")) return PlanBuild.run(Arrays.copyOfRange(args, 1, args.length));
        if (args.length == 2 && args[0].equals("explain")) {
            System.out.print(PlanExplain.explain(PlanFile.load(Path.of(args[1]))));
            return 0;
        }
        System.err.print(USAGE);
        return 2;
    }
}
