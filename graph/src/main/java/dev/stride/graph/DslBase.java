package dev.stride.graph;

import java.util.List;

/**
 * The primitives every part of the builder DSL is written with. {@link GraphBuilder} implements them; the
 * op families ({@link ConvDsl}, {@link PoolDsl}, {@link TensorDsl}, {@link TrainDsl}) add layer-level
 * methods as default methods on top.
 */
public interface DslBase {
    DType dtype();

    /** Training graph: batch norm uses batch statistics, dropout is active. */
    boolean training();

    /** Applies a single-output op; the node is named {@code <scope>/<hint>} made unique. */
    Value apply(String nameHint, Op op, Value... inputs);

    /** Applies an op and returns all of its outputs. */
    List<Value> applyAll(String nameHint, Op op, Value... inputs);

    /** A trainable parameter named {@code <scope>/<name>}. */
    Value param(String name, Shape shape, Init init);

    /** A persistent, non-trainable tensor named {@code <scope>/<name>} (running statistics, optimizer moments). */
    Value state(String name, Shape shape, Init init);

    /** Assigns {@code source} to persistent {@code target} at the end of each run. */
    void update(Value target, Value source);

    /** A fresh seed for a random op, derived from the builder's seed and a counter: reproducible per graph. */
    long nextSeed();
}
