package dev.stride.engine.cuda;

import dev.stride.engine.FusionReaders;
import dev.stride.graph.Compiler;
import dev.stride.graph.Graph;
import dev.stride.graph.Node;
import dev.stride.graph.Plan;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Unary;

import java.util.ArrayList;
import java.util.List;

/**
 * The cuda target's compile-time decisions: every node's entry is "" (one kernel per op; a convolution's cuDNN
 * engine is chosen by the heuristics at load, or measured beforehand by {@link CudnnAutotuner}), except fusions: a
 * Conv2d whose output is read only by a ReLU becomes one kernel, entry {@value #FUSED_RELU}, the ReLU marked
 * {@code "fused:<conv id>"} ({@link Plan#FUSED_PREFIX}). The convolution's kernel then applies bias and ReLU in
 * the cuDNN graph where an engine of the GPU runs that graph, else in one epilogue pass over its output
 * ({@link CudaConvKernels}).
 *
 * <p>Only ReLU: it is the activation both cuDNN's pointwise graph ({@code CUDNN_POINTWISE_RELU_FWD}) and the
 * epilogue kernel apply with the reference's semantics. Training graphs rarely fuse: the ReLU's gradient reads the
 * convolution's output, so it has a second reader and stays in memory, as on the cpu backend.
 */
public final class CudaAlgorithms implements Compiler.AlgorithmChooser {
    /** The entry of a Conv2d with a ReLU fused into it (the heuristic engine choice; a tuned one keeps the suffix). */
    public static final String FUSED_RELU = ConvAlgorithm.CUDNN + ConvAlgorithm.RELU_SUFFIX;

    private final boolean fuse;

    /** {@code fuse}: whether conv + ReLU chains become one kernel. */
    public CudaAlgorithms(boolean fuse) { this.fuse = fuse; }

    @Override public List<String> choose(Graph g, int[] schedule) {
        List<String> a = new ArrayList<>();
        for (Node n : g.nodes()) a.add("");
        if (!fuse) return a;
        FusionReaders readers = new FusionReaders(g, schedule);
        for (int id : schedule) {
            Node head = g.nodes().get(id);
            if (!(head.op() instanceof Conv2d)) continue;
            Node next = readers.soleReader(head.outputs().getFirst());
            if (next != null && next.op() instanceof Unary u && u.fn() == Unary.Fn.RELU) {
                a.set(id, FUSED_RELU);
                a.set(next.id(), Plan.FUSED_PREFIX + id);
            }
        }
        return a;
    }
}
