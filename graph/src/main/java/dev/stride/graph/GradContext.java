package dev.stride.graph;

/** What an op's {@link Op#backward} sees: its node, the incoming gradients, and a builder to add backward ops. */
public interface GradContext {
    GraphBuilder builder();

    Node node();

    default Value input(int i) { return node().inputs().get(i); }

    default Value output(int i) { return node().outputs().get(i); }

    /** Gradient of the loss with respect to output {@code i}, or {@code null} where none flows. */
    Value gradOutput(int i);

    /** Whether the gradient of input {@code i} is wanted (it leads to a requested parameter or input). */
    boolean needsGrad(int i);
}
