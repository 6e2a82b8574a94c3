package dev.stride.onnx;

import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The operator table: ONNX op_type to {@link OpSpec}. Each family registers its rows; adding an operator is one
 * {@code put}. Rows of {@link RefusedOps} exist only to say why an op is refused.
 */
final class OpTable {
    private OpTable() {}

    private static final Map<String, OpSpec> TABLE;
    private static final Set<String> MAPPED;

    static {
        Map<String, OpSpec> t = new HashMap<>();
        ElementwiseOps.register(t);
        ShapeOps.register(t);
        ConvOps.register(t);
        PoolOps.register(t);
        NormOps.register(t);
        MatOps.register(t);
        ReduceOps.register(t);
        ResizeOps.register(t);
        Set<String> mapped = new TreeSet<>(t.keySet());
        RefusedOps.register(t);
        TABLE = Collections.unmodifiableMap(t);
        MAPPED = Collections.unmodifiableSet(mapped);
    }

    static OpSpec get(String opType) { return TABLE.get(opType); }

    static Set<String> mapped() { return MAPPED; }
}
