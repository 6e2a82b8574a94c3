package dev.stride.graph;

/** Builder DSL: see {@link DslBase}. */
public interface ConvDsl extends DslBase {
}
