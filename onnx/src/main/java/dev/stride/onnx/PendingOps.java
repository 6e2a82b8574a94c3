package dev.stride.onnx;

import java.util.Map;

/**
 * Operators the IR cannot express yet. Each has a row so that the refusal says exactly what is missing; when the
 * IR gains the op, the row's mapper replaces this one.
 */
final class PendingOps {
    private PendingOps() {}

    static void register(Map<String, OpSpec> t) {
        pending(t, "InstanceNormalization", "instance normalization");
        pending(t, "LRN", "local response normalization");
        pending(t, "LpPool", "Lp pooling");
        pending(t, "GlobalLpPool", "global Lp pooling");
        pending(t, "Selu", "SELU activation");
        pending(t, "HardSigmoid", "hard sigmoid activation");
        pending(t, "HardSwish", "hard swish activation");
        // Clip-11 and later take min and max as inputs (before: attributes); they must be known at import time.
        pending(t, "Clip", "clip (clamp) op", OpSpec.StaticInputs.from(11, 1));
        pending(t, "Pow", "power op", OpSpec.StaticInputs.NONE);
        none(t, "ReduceMax", "max reduction");
        none(t, "ReduceMin", "min reduction");
        none(t, "ReduceProd", "product reduction");
        none(t, "ReduceL1", "L1 reduction");
        none(t, "ReduceL2", "L2 reduction");
        none(t, "ReduceLogSumExp", "log-sum-exp reduction");
        none(t, "ReduceSumSquare", "sum-of-squares reduction");
        none(t, "Hardmax", "hardmax");
    }

    /** An op another branch is adding to the IR. */
    private static void pending(Map<String, OpSpec> t, String op, String what) {
        pending(t, op, what, OpSpec.StaticInputs.NONE);
    }

    private static void pending(Map<String, OpSpec> t, String op, String what, OpSpec.StaticInputs staticInputs) {
        t.put(op, new OpSpec(c -> {
            throw c.unsupported("the IR has no %s yet (it is being added)", what);
        }, staticInputs));
    }

    /** An op with no IR counterpart planned. */
    private static void none(Map<String, OpSpec> t, String op, String what) {
        t.put(op, new OpSpec(c -> {
            throw c.unsupported("the IR has no %s", what);
        }, OpSpec.StaticInputs.NONE));
    }

}
