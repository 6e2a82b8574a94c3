package dev.stride.engine.cpu;

import dev.stride.engine.FusionReaders;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.Node;
import dev.stride.graph.Plan;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Unary;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The cpu target's compile-time decisions, written into the plan: per node the algorithm (a convolution's
 * im2col / 1x1 GEMM / Winograd / depthwise, by {@link ConvChooser}), {@value #REFERENCE} for an op that has no cpu
 * kernel yet (run by the reference kernel, and reported as such), and fusions: a Conv2d followed by a batch norm
 * in inference mode and/or an activation becomes one kernel, {@code "im2col+bn+relu"}, the absorbed nodes marked
 * {@code "fused:<conv id>"} ({@link Plan#FUSED_PREFIX}).
 */
public final class CpuAlgorithms implements Compiler.AlgorithmChooser {
    /** The algorithm entry of a node run by the reference kernel on the cpu backend. */
    public static final String REFERENCE = "reference";

    private final CpuKernelRegistry registry;
    private final boolean fuse;
    private final Function<Node, String> choice;

    /** The heuristic choice ({@link ConvChooser}). */
    public CpuAlgorithms(CpuKernelRegistry registry, boolean fuse) {
        this(registry, fuse, ConvChooser::choose);
    }

    /** {@code choice} picks the algorithm of each node that has a cpu kernel (measured, or forced in tests). */
    public CpuAlgorithms(CpuKernelRegistry registry, boolean fuse, Function<Node, String> choice) {
        this.registry = registry;
        this.fuse = fuse;
        this.choice = choice;
    }

    @Override public List<String> choose(Graph g, int[] schedule) {
        List<String> a = new ArrayList<>();
        for (Node n : g.nodes()) a.add("");
        for (int id : schedule) {
            Node n = g.nodes().get(id);
            if (g.dtype() != DType.F32 || !registry.supports(n.op().getClass())) a.set(id, REFERENCE);
            else a.set(id, choice.apply(n));
        }
        if (fuse && g.dtype() == DType.F32) fuse(g, schedule, a);
        return a;
    }

    /** Marks conv [-> batch norm (inference)] [-> activation] chains whose intermediates nobody else reads. */
    private static void fuse(Graph g, int[] schedule, List<String> a) {
        FusionReaders readers = new FusionReaders(g, schedule);
        for (int id : schedule) {
            Node head = g.nodes().get(id);
            if (!(head.op() instanceof Conv2d) || a.get(id).equals(REFERENCE) || a.get(id).startsWith(Plan.FUSED_PREFIX))
                continue;
            StringBuilder entry = new StringBuilder(a.get(id));
            for (Node next : readers.convolutionChain(head, Epilogue.FUSABLE)) {
                entry.append('+').append(next.op() instanceof Unary u ? u.fn().name().toLowerCase() : "bn");
                a.set(next.id(), Plan.FUSED_PREFIX + id);
            }
            a.set(id, entry.toString());
        }
    }
}
