package dev.stride.onnx.conformance;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * One test of the conformance data: a model and its data sets (inputs fed by position, expected outputs by
 * position), as indexed by a suite folder's {@code tests.tsv}.
 *
 * @param operator the tsv's operator column ("network" for whole models)
 * @param dataSets each a list of input files (the K-th feeds the K-th graph input that is not an initializer;
 *                 empty for onnx-light, whose input is generated) and a list of expected output files
 */
record ConformanceCase(String suite, String name, String operator, Path model, List<DataSet> dataSets) {
    record DataSet(String name, List<Path> inputs, List<Path> outputs) {}

    /** The suites in report order; onnx-light and pretrained are whole networks. */
    static final List<String> SUITES = List.of("onnx-node", "onnx-pytorch", "onnx-light", "pretrained");

    /** The conformance data root: -Dstride.conformance.dir, else ../shared/conformance from the worktree root. */
    static Path root() {
        String prop = System.getProperty("stride.conformance.dir");
        if (prop != null) return Path.of(prop);
        Path dir = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        for (Path p = dir; p != null; p = p.getParent())
            if (Files.exists(p.resolve("mvnw")) && Files.exists(p.resolve("onnx/pom.xml")))
                return p.resolveSibling("shared").resolve("conformance");
        return dir.resolve("../shared/conformance").normalize();
    }

    /** Every case of a suite, in tests.tsv order. */
    static List<ConformanceCase> load(Path root, String suite) {
        Path dir = root.resolve(suite);
        List<String> lines;
        try {
            lines = Files.readAllLines(dir.resolve("tests.tsv"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        String[] header = lines.getFirst().split("\t");
        List<ConformanceCase> out = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            if (line.isBlank()) continue;
            String[] f = line.split("\t");
            Map<String, String> row = new LinkedHashMap<>();
            for (int i = 0; i < header.length && i < f.length; i++) row.put(header[i], f[i]);
            String name = row.get("test");
            if (suite.equals("onnx-light")) {
                List<Path> expected = List.of(dir.resolve(row.get("expected_output")));
                out.add(new ConformanceCase(suite, name, "network", dir.resolve(row.get("model")),
                        List.of(new DataSet("generated", List.of(), expected))));
                continue;
            }
            Path t = dir.resolve(name);
            List<DataSet> sets = new ArrayList<>();
            try (Stream<Path> s = Files.list(t)) {
                for (Path d : s.filter(p -> p.getFileName().toString().startsWith("test_data_set_")).sorted().toList())
                    sets.add(new DataSet(d.getFileName().toString(), numbered(d, "input_"), numbered(d, "output_")));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            String op = row.getOrDefault("operator", "?");
            out.add(new ConformanceCase(suite, name, op, t.resolve("model.onnx"), sets));
        }
        return out;
    }

    private static List<Path> numbered(Path dir, String prefix) {
        List<Path> files = new ArrayList<>();
        for (int k = 0; Files.exists(dir.resolve(prefix + k + ".pb")); k++) files.add(dir.resolve(prefix + k + ".pb"));
        return files;
    }

    String id() { return suite + "/" + name; }
}
