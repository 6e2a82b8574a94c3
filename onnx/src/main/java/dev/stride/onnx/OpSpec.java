package dev.stride.onnx;

/**
 * One row of the operator table: how a node of an op_type becomes graph ops (or a folded constant), and which of its
 * inputs must be known at import time (shapes, axes, pads, scales: a static graph has no dynamic shapes).
 */
record OpSpec(Mapper mapper, StaticInputs staticInputs) {
    /** Maps one node; reads its inputs and attributes through the context and binds every requested output. */
    @FunctionalInterface
    interface Mapper {
        void map(NodeContext c);
    }

    /** Whether input {@code index} of a node at operator-set version {@code opset} must be an import-time constant. */
    @FunctionalInterface
    interface StaticInputs {
        boolean isStatic(int opset, int index);

        StaticInputs NONE = (opset, index) -> false;

        /** Inputs {@code from} and later, from operator-set version {@code since} on. */
        static StaticInputs from(int since, int from) { return (opset, index) -> opset >= since && index >= from; }
    }
}
