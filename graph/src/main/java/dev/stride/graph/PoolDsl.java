package dev.stride.graph;

/** Builder DSL: see {@link DslBase}. */
public interface PoolDsl extends DslBase {
}
