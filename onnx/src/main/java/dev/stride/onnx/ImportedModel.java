package dev.stride.onnx;

import dev.stride.graph.Compiler;
import dev.stride.graph.Graph;
import dev.stride.graph.Plan;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An imported ONNX model: the Stride graph, the stored values of its parameters (initializers and constant weights,
 * little-endian in the graph's dtype, as {@link Plan#tensors()} holds them; parameters that are one repeated value
 * carry a constant {@code Init} instead and have no entry), and the ONNX names of the inputs fed per run and of the
 * outputs, in the model's order.
 */
public record ImportedModel(Graph graph, Map<String, byte[]> values, List<String> inputNames,
                            List<String> outputNames, int opset) {
    public ImportedModel {
        values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
        inputNames = List.copyOf(inputNames);
        outputNames = List.copyOf(outputNames);
    }

    /** Compiles for the reference backend; the plan carries the parameter values. */
    public Plan compile() { return compile(Compiler.Target.reference()); }

    /** Compiles for {@code target}; the plan carries the parameter values. */
    public Plan compile(Compiler.Target target) {
        return Compiler.compile(graph, target).withTensors(values);
    }
}
