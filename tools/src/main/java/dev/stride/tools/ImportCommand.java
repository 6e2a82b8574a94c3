package dev.stride.tools;

import dev.stride.graph.Plan;
import dev.stride.graph.PlanFile;
import dev.stride.onnx.ImportedModel;
import dev.stride.onnx.OnnxImportException;
import dev.stride.onnx.OnnxImporter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** {@code stride import MODEL.onnx -o FILE}: imports an ONNX model, compiles it and saves the plan with its weights. */
final class ImportCommand {
    private ImportCommand() {}

    static final String USAGE = """
            usage: stride import MODEL.onnx -o FILE [--batch N] [--shape NAME=D1,D2,...] [--const NAME=T.pb]
              --batch N       the first dimension of every input (replaces a symbolic or fixed batch size)
              --shape         the full shape of one input (for symbolic dimensions other than the batch)
              --const         the value of a graph input the importer needs at import time (a shape, axes or
                              scales tensor the model takes as an input), as an ONNX TensorProto file
            The plan is compiled for the reference backend and carries the model's weights.
            """;

    static int run(String[] args) throws IOException {
        Path model = null, out = null;
        OnnxImporter.Options options = OnnxImporter.Options.defaults();
        try {
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "-o", "--out" -> out = Path.of(value(args, ++i, a));
                    case "--batch" -> options = options.batch(positive(value(args, ++i, a), a));
                    case "--shape" -> {
                        String[] kv = pair(value(args, ++i, a), a);
                        int[] dims = Arrays.stream(kv[1].split(",")).mapToInt(d -> positive(d.trim(), a)).toArray();
                        options = options.inputShape(kv[0], dims);
                    }
                    case "--const" -> {
                        String[] kv = pair(value(args, ++i, a), a);
                        options = options.constant(kv[0], Files.readAllBytes(Path.of(kv[1])));
                    }
                    case "-h", "--help" -> { System.out.print(USAGE); return 0; }
                    default -> {
                        if (a.startsWith("-") || model != null) throw new IllegalArgumentException("unexpected argument '" + a + "'");
                        model = Path.of(a);
                    }
                }
            }
        } catch (IllegalArgumentException e) {
            System.err.println("stride import: " + e.getMessage());
            System.err.print(USAGE);
            return 2;
        }
        if (model == null || out == null) { System.err.print(USAGE); return 2; }
        ImportedModel m;
        try {
            m = OnnxImporter.importFile(model, options);
        } catch (OnnxImportException e) {
            System.err.println("stride import: " + model + ": " + e.getMessage());
            return 1;
        }
        Plan plan = m.compile();
        PlanFile.save(plan, out);
        System.out.printf("%s: opset %d, %d nodes, %d parameters (%s stored), arena %s%n", model, m.opset(),
                plan.schedule().length, m.graph().params().size(),
                Units.bytes(m.values().values().stream().mapToLong(b -> b.length).sum()),
                Units.bytes(plan.memory().arenaBytes()));
        for (String n : m.inputNames()) System.out.println("  input  " + n + " " + m.graph().value(n).shape());
        m.graph().outputs().forEach((n, v) -> System.out.println("  output " + n + " " + v.shape()));
        System.out.println("written to " + out);
        return 0;
    }

    static String value(String[] args, int i, String option) {
        if (i >= args.length) throw new IllegalArgumentException(option + " expects a value");
        return args[i];
    }

    static String[] pair(String s, String option) {
        int eq = s.indexOf('=');
        if (eq <= 0 || eq == s.length() - 1) throw new IllegalArgumentException(option + " expects NAME=VALUE, got '" + s + "'");
        return new String[] {s.substring(0, eq), s.substring(eq + 1)};
    }

    static int positive(String s, String option) {
        try {
            int v = Integer.parseInt(s);
            if (v >= 1) return v;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(option + " expects a positive integer, got '" + s + "'");
    }

}
