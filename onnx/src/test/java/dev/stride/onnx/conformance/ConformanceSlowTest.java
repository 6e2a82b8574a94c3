package dev.stride.onnx.conformance;

import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

import java.util.List;
import java.util.stream.Stream;

/** Whole networks at 224x224 (onnx-light) and the trained OCR models: minutes on the reference backend. */
@Tag("slow")
class ConformanceSlowTest {
    @TestFactory
    Stream<DynamicNode> networks() { return ConformanceTests.of(List.of("onnx-light", "pretrained")); }
}
