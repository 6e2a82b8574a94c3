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
 * engine is chosen by the heuristics at load, or measured beforehand by {@link CudnnAutotuner}), except fusions, by
 * the cpu backend's rule ({@link FusionReaders#convolutionChain}): a Conv2d followed by a batch norm in inference
 * mode and/or a ReLU, each the sole reader of what precedes it, becomes one kernel, entry {@code cudnn+bn},
 * {@code cudnn+relu} or {@code cudnn+bn+relu}, the followers marked {@code "fused:<conv id>"}
 * ({@link Plan#FUSED_PREFIX}). The convolution's kernel applies the bias and the ReLU in the cuDNN graph where an
 * engine of the GPU runs that graph, and what the graph does not apply (the batch norm always) in one epilogue
 * pass over its output ({@link CudaConvKernels}).
 *
 * <p>Only ReLU: it is the activation both cuDNN's pointwise graph ({@code CUDNN_POINTWISE_RELU_FWD}) and the
 * epilogue kernel apply with the reference's semantics. Training graphs rarely fuse: a batch norm trains with
 * batch statistics (another op), and a ReLU's gradient reads its input, which then has a second reader.
 */
public final class CudaAlgorithms implements Compiler.AlgorithmChooser {
    /** The entry of a Conv2d with a ReLU fused into it (the heuristic engine choice; a tuned one keeps the suffix). */
    public static final String FUSED_RELU = ConvAlgorithm.CUDNN + new ConvAlgorithm.Followers(false, true).suffix();

    private final boolean fuse;

    /** {@code fuse}: whether conv [+ batch norm] [+ ReLU] chains become one kernel. */
    public CudaAlgorithms(boolean fuse) { this.fuse = fuse; }

    @Override public List<String> choose(Graph g, int[] schedule) {
        List<String> a = new ArrayList<>();
        for (Node n : g.nodes()) a.add("");
        if (!fuse) return a;
        FusionReaders readers = new FusionReaders(g, schedule);
        for (int id : schedule) {
            Node head = g.nodes().get(id);
            if (!(head.op() instanceof Conv2d)) continue;
            List<Node> chain = readers.convolutionChain(head, List.of(Unary.Fn.RELU));
            if (chain.isEmpty()) continue;
            for (Node next : chain) a.set(next.id(), Plan.FUSED_PREFIX + id);
            a.set(id, ConvAlgorithm.CUDNN + new ConvAlgorithm.Followers(!(chain.getFirst().op() instanceof Unary),
                    chain.getLast().op() instanceof Unary).suffix());
        }
        return a;
    }
}
