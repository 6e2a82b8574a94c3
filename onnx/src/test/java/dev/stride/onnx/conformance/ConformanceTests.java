package dev.stride.onnx.conformance;

import dev.stride.engine.Backend;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** Builds the dynamic tests of some suites: one container per suite, one test per (case, backend). */
final class ConformanceTests {
    private ConformanceTests() {}

    static Stream<DynamicNode> of(List<String> suites) {
        Path root = ConformanceCase.root();
        Assumptions.assumeTrue(Files.isDirectory(root),
                "conformance data not found at " + root + " (expected ../shared/conformance beside the worktree, "
                        + "or -Dstride.conformance.dir): conformance tests skipped");
        List<DynamicNode> nodes = new ArrayList<>();
        for (Backend b : Backend.all())
            if (b.unavailableReason() != null)
                nodes.add(DynamicTest.dynamicTest("backend " + b.name() + " (not usable here)",
                        () -> Assumptions.abort("backend " + b.name() + ": " + b.unavailableReason())));
        List<Backend> backends = usable();
        for (String suite : suites) {
            List<DynamicNode> tests = new ArrayList<>();
            for (ConformanceCase c : ConformanceCase.load(root, suite))
                for (Backend b : backends)
                    tests.add(DynamicTest.dynamicTest(c.name() + " [" + b.name() + "]", () -> check(c, b)));
            nodes.add(DynamicContainer.dynamicContainer(suite, tests));
        }
        return nodes.stream();
    }

    static List<Backend> usable() { return Backend.all().stream().filter(b -> b.unavailableReason() == null).toList(); }

    private static void check(ConformanceCase c, Backend b) {
        ConformanceRunner.Outcome o = ConformanceRunner.run(c, b);
        switch (o.status()) {
            case PASS -> { }
            case UNSUPPORTED -> Assumptions.abort("unsupported: " + o.detail());
            case FAIL -> Assertions.fail(c.id() + " [" + b.name() + "]: " + o.detail());
        }
    }
}
