package dev.stride.bench;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReportTest {
    /** A result as JMH writes it, in throughput mode with the flop counter. */
    private static String result(String benchmark, String params, String primaryUnit, String primaryRaw, double primaryScore,
                                 String flopRaw, double flopScore) {
        return """
                {"jmhVersion": "1.37", "benchmark": "%s", "mode": "thrpt", "threads": 1, "forks": 1,
                 "params": {%s},
                 "primaryMetric": {"score": %s, "scoreError": "NaN", "scoreUnit": "%s", "rawData": [%s]},
                 "secondaryMetrics": {"flop": {"score": %s, "scoreError": "NaN", "scoreUnit": "ops/ns", "rawData": [%s]}}}
                """.formatted(benchmark, params, primaryScore, primaryUnit, primaryRaw, flopScore, flopRaw);
    }

    @Test
    void medianTimeFlopsAndFractionOfPeak(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
        String json = "[" + String.join(",",
                result("dev.stride.bench.FmaPeakBenchmark.oneThread", "", "ops/ns", "[1e-4, 1e-4, 1e-4]", 1e-4,
                        "[100, 96, 104]", 100),
                result("dev.stride.bench.FmaPeakBenchmark.twoThreads", "", "ops/ns", "[1e-4, 1e-4, 1e-4]", 1e-4,
                        "[150, 200, 210]", 186.7),
                // calls per ns 2e-8, 1e-8, 4e-8: median 2e-8, so 50 ms per call; 1e9 FLOP per call
                result("dev.stride.bench.ConvLayerBenchmark.conv",
                        "\"layer\": \"resnet18:layer1.0.conv1\", \"algorithm\": \"winograd-f4x3\", \"threads\": \"2\"",
                        "ops/ns", "[2e-8, 1e-8, 4e-8]", 7e-8 / 3, "[20, 10, 40]", 70.0 / 3),
                // the same in calls per ms; odd fork split
                result("dev.stride.bench.NetworkBenchmark.forward", "\"net\": \"resnet18\", \"threads\": \"1\"",
                        "ops/ms", "[0.02, 0.01], [0.04]", 0.07 / 3, "[20, 10], [40]", 70.0 / 3)) + "]";
        Path file = dir.resolve("results.json");
        Files.writeString(file, json);

        List<?> parsed = (List<?>) Report.Json.parse(json);
        Report.Row conv = Report.row(parsed.get(2));
        assertEquals(50.0, conv.medianMs(), 1e-9);
        assertEquals(1e9, conv.flopPerCall(), 1e-3);
        assertEquals(20.0, conv.gflops(), 1e-12);
        assertEquals(2, conv.threads());
        Report.Row net = Report.row(parsed.get(3));
        assertEquals(50.0, net.medianMs(), 1e-9);
        assertEquals(1e9, net.flopPerCall(), 1e-3);
        assertEquals(1, net.threads());

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Report.print(file, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String table = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(table.contains("FMA peak (median): 100.0 GFLOP/s on 1 thread, 200.0 on 2"), table);
        // conv: 20 GFLOP/s on 2 threads against 200; network: 20 against 100
        assertTrue(table.contains("| ConvLayerBenchmark.conv | layer=resnet18:layer1.0.conv1 algorithm=winograd-f4x3 | 2 | 50.000 | 1000.0 | 20.0 | 10.0 |"), table);
        assertTrue(table.contains("effective GFLOP/s") && table.contains("64->64 3x3 s1 p1 56x56"), table);
        assertTrue(table.contains("| NetworkBenchmark.forward | net=resnet18 | 1 | 50.000 | 1000.0 | 20.0 | 20.0 |"), table);
    }

    @Test
    void jsonParserHandlesJmhsOutputAndRejectsGarbage() throws IOException {
        Object o = Report.Json.parse(" {\"a\": [1, -2.5e3, \"x\\\"y\\u0041\", true, null], \"b\": {}} ");
        assertEquals(Map.of("a", java.util.Arrays.asList(1.0, -2500.0, "x\"yA", true, null), "b", Map.of()), o);
        assertThrows(IOException.class, () -> Report.Json.parse("[1, 2"));
        assertThrows(IOException.class, () -> Report.Json.parse("[1] x"));
        assertThrows(IOException.class, () -> Report.Json.parse("{\"a\" 1}"));
        assertEquals(2.0, Report.median(List.of(List.of(3.0, 1.0), List.of(2.0))));
        assertEquals(2.5, Report.median(List.of(List.of(3.0, 1.0, 2.0, 4.0))));
    }
}
