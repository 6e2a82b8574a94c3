package dev.stride.onnx.conformance;

import dev.stride.engine.Backend;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Writes docs/CONFORMANCE.md when -Dstride.conformance.report=FILE is given; skipped otherwise. */
class ConformanceReportTest {
    @Test
    void writeReport() throws Exception {
        String target = System.getProperty("stride.conformance.report");
        Assumptions.assumeTrue(target != null, "set -Dstride.conformance.report=FILE to write the conformance report");
        Path root = ConformanceCase.root();
        Assumptions.assumeTrue(Files.isDirectory(root), "conformance data not found at " + root);
        List<Backend> backends = ConformanceTests.usable();
        var outcomes = ConformanceReport.runAll(root, backends);
        ConformanceReport.write(Path.of(target), outcomes, backends);
        assertTrue(Files.size(Path.of(target)) > 0);
    }
}
