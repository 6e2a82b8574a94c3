package dev.stride.onnx;

import java.util.Map;

/**
 * Operators of ONNX's CNN vocabulary that the IR cannot express exactly. Each has a row so that the refusal says
 * what is missing rather than "no mapping"; an op the IR gains moves to its family's table.
 */
final class RefusedOps {
    private RefusedOps() {}

    static void register(Map<String, OpSpec> t) {
        none(t, "ReduceProd", "product reduction (a log-sum would lose signs and zeros)");
        none(t, "ReduceLogSumExp", "log-sum-exp reduction");
        none(t, "Hardmax", "hardmax (a one-hot of the first maximum: a comparison on activations)");
        none(t, "ArgMax", "arg max (int64 indices are outside a float CNN engine)");
        none(t, "ArgMin", "arg min (int64 indices are outside a float CNN engine)");
    }

    /** An op with no IR counterpart. */
    private static void none(Map<String, OpSpec> t, String op, String what) {
        t.put(op, new OpSpec(c -> {
            throw c.unsupported("the IR has no %s", what);
        }, OpSpec.StaticInputs.NONE));
    }
}
