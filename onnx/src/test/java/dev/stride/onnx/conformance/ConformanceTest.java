package dev.stride.onnx.conformance;

import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.TestFactory;

import java.util.List;
import java.util.stream.Stream;

/**
 * The ONNX node tests and PyTorch-exported layer tests on every usable backend, in the default test run. A case
 * the engine cannot represent is aborted (skipped) with the importer's reason; every other case passes or fails.
 */
class ConformanceTest {
    @TestFactory
    Stream<DynamicNode> nodeAndPytorch() { return ConformanceTests.of(List.of("onnx-node", "onnx-pytorch")); }
}
