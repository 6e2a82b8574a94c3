package dev.stride.engine.cuda;

import dev.stride.cuda.CudaLibraries;
import dev.stride.cuda.CudaStatus;
import dev.stride.engine.Backend;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.Graph;
import dev.stride.graph.Node;
import dev.stride.graph.Plan;
import dev.stride.graph.Shape;
import dev.stride.graph.op.Conv2d;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * cuDNN and the autotuner on a GPU (tag gpu: the -Pgpu profile and tools/gpu-check.sh run it; skipped with the
 * locator's reason elsewhere). The numerics of every pass are {@link CudaConvKernelsTest}'s properties run with
 * {@code -Dstride.cuda.device=gpu}; this class checks what only a GPU shows: which engine a node runs, the autotuned
 * entries, their reuse on the same machine and the notice and re-choice on another.
 */
@Tag("gpu")
class CudnnGpuTest {
    @BeforeAll
    static void describeTheMachine() {
        CudaStatus s = CudaLibraries.system();
        System.err.println("CudnnGpuTest: " + (s.available() ? "running on" : "every test skipped, no usable GPU:")
                + "\n" + s.describe());
    }

    @BeforeEach
    void needsAUsableGpu() {
        CudaStatus s = CudaLibraries.system();
        assumeTrue(s.available(), () -> "no usable GPU: " + s.unavailableReason());
    }

    /** The kernel a node gets on the GPU for an entry, bound to fresh buffers of the device. */
    private static CudaConvKernels.ConvKernel bind(CudaDevice d, Node n, String entry) {
        long[] in = n.inputs().stream().mapToLong(v -> d.alloc(4 * v.shape().size())).toArray();
        long[] out = n.outputs().stream().mapToLong(v -> d.alloc(4 * v.shape().size())).toArray();
        return (CudaConvKernels.ConvKernel) CudaBackend.kernels().create(new CudaNode(n, entry, in, out, d));
    }

    /** Every pass of 40 random convolutions: cuDNN runs nearly all of them, and each kernel says what it runs. */
    @Test
    void cudnnRunsTheConvolutionsAndSaysWhichEngine() {
        Map<String, Integer> ran = new LinkedHashMap<>();
        List<String> direct = new ArrayList<>();
        try (CudaDevice d = CudaDevice.open(0, CudaBackend.kernels().kernelSources())) {
            for (long seed = 0; seed < 40; seed++) {
                ConvCase k = ConvCase.draw(seed);
                List<Node> nodes = List.of(
                        ConvProblemTest.node(k.conv(), k.x(), k.weight()),
                        ConvProblemTest.node(k.conv().backwardData(k.h(), k.w()), k.output(), k.weight()),
                        ConvProblemTest.node(k.conv().backwardFilter(k.kh(), k.kw()), k.x(), k.output()));
                for (Node n : nodes) {
                    String a = bind(d, n, "").algorithm();
                    assertTrue(a.equals("direct") || a.startsWith("cudnn:engine="), a);
                    ran.merge(a.equals("direct") ? "direct" : "cudnn", 1, Integer::sum);
                    if (a.equals("direct")) direct.add(n.op() + " " + k);
                    assertEquals("direct", bind(d, n, "direct").algorithm(), "a direct entry is obeyed");
                }
            }
        }
        System.err.println("CudnnGpuTest: kernels chosen " + ran + "; direct for " + direct);
        assertTrue(ran.getOrDefault("cudnn", 0) >= 100, "cuDNN refused too much: " + ran + " " + direct);
    }

    /**
     * The autotuned target writes a measured engine per convolution, naming this machine; a session on this machine
     * runs exactly those engines and computes what the reference computes; an entry naming another machine is
     * chosen again, with a notice.
     */
    @Test
    void autotunedEnginesAreWrittenReusedAndReChosenElsewhere() {
        List<String> log = new ArrayList<>();
        Compiler.Target tuned = CudnnAutotuner.target(new CudnnAutotuner.Options(Duration.ofSeconds(60), 1, 3, log::add));
        ConvCase k = new ConvCase(2, 16, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, false);
        Graph g = OneNode.graph(DType.F32, k.conv(), List.of(k.x(), k.weight()));
        Plan plan = Compiler.compile(g, tuned);
        Node conv = plan.scheduledNodes().getFirst();
        String entry = plan.algorithms().get(conv.id());
        assertTrue(entry.startsWith("cudnn:engine="), entry + "\n" + String.join("\n", log));
        try (CudaDevice d = CudaDevice.open(0, CudaBackend.kernels().kernelSources())) {
            ConvAlgorithm a = ConvAlgorithm.parse(entry);
            assertEquals(CudaConvKernels.machine(d.context()), a.tunedOn());
            assertEquals(entry, bind(d, conv, entry).algorithm(), "the tuned engine is the one that runs");
            String elsewhere = a.on(ConvAlgorithm.machine("Some Other GPU", "9.0.0")).entry();
            String rechosen = bind(d, conv, elsewhere).algorithm();
            assertNotEquals(elsewhere, rechosen);
            assertTrue(rechosen.startsWith("cudnn:engine="), rechosen);
            assertTrue(CudaConvKernels.noticed().stream().anyMatch(m -> m.contains("tuned on Some Other GPU,cudnn 9.0.0")),
                    CudaConvKernels.noticed().toString());
        }
        Backend gpu = new CudaBackend();
        OneNode.check(gpu, new Compiler.Target(tuned.name(), tuned.info(), (gr, s) -> plan.algorithms()), k.conv(),
                List.of(k.x(), k.weight()), 5, "conv.im2col");
    }

    /** A convolution of ResNet-50's size through a session: cuDNN's result against the reference, batch 2. */
    @Test
    void aResNetLayerMatchesTheReference() {
        Backend gpu = new CudaBackend();
        Conv2d c = new Conv2d(1, 1, 1, 1, 1, 1, 1, 1, 1);
        OneNode.check(gpu, gpu.target(), c, List.of(Shape.of(2, 64, 56, 56), Shape.of(64, 64, 3, 3)), 3, "conv.im2col");
        OneNode.check(gpu, gpu.target(), c.backwardFilter(3, 3), List.of(Shape.of(2, 64, 56, 56), Shape.of(2, 64, 56, 56)),
                4, "conv.backward");
    }
}
