package dev.stride.engine.cuda;

import dev.stride.engine.Backend;
import dev.stride.graph.DType;
import dev.stride.graph.GraphException;
import dev.stride.graph.Node;
import dev.stride.graph.Shape;
import dev.stride.graph.ShapeException;
import dev.stride.graph.op.ConvTranspose2d;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AddLifecycleHook;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The convolution family against the reference backend, every pass over random convolutions ({@link ConvCase}:
 * batch 1, one channel, odd sizes, stride above the kernel, padding on one side, dilation, groups, depthwise): the
 * direct kernels (conv.cu) on the emulated device; on a GPU ({@code -Dstride.cuda.device=gpu}) cuDNN with the
 * heuristics' engine, and the direct kernels forced by a {@value ConvAlgorithm#DIRECT} entry. Also the choice of
 * kernel: direct on the emulated device whatever the plan's entry says. Skipped, with the reason, where the backend
 * under test cannot run ({@link CudaCrossBackend#backend()}).
 */
@net.jqwik.api.Tag("cuda-kernels")   // jqwik reads its own tags; the JUnit tests below carry JUnit's
@AddLifecycleHook(CudaCrossBackend.SkipUnlessUsable.class)
class CudaConvKernelsTest {
    private static final Backend CUDA = CudaCrossBackend.backend();

    /** {@code direct}: the plan forces the direct kernel (what the emulated device runs anyway). */
    private static double check(dev.stride.graph.Op op, List<Shape> in, long seed, String tol, boolean direct) {
        return OneNode.check(CUDA, OneNode.forcing(CUDA, direct ? ConvAlgorithm.DIRECT : ""), op, in, seed, tol);
    }

    @Property(tries = 60)
    void forward(@ForAll long seed, @ForAll boolean direct) {
        ConvCase k = ConvCase.draw(seed);
        List<Shape> in = k.bias() ? List.of(k.x(), k.weight(), Shape.of(k.o())) : List.of(k.x(), k.weight());
        check(k.conv(), in, seed, "conv", direct);
    }

    @Property(tries = 60)
    void backwardData(@ForAll long seed, @ForAll boolean direct) {
        ConvCase k = ConvCase.draw(seed);
        check(k.conv().backwardData(k.h(), k.w()), List.of(k.output(), k.weight()), seed, "conv", direct);
    }

    @Property(tries = 60)
    void backwardFilter(@ForAll long seed, @ForAll boolean direct) {
        ConvCase k = ConvCase.draw(seed);
        check(k.conv().backwardFilter(k.kh(), k.kw()), List.of(k.x(), k.output()), seed, "conv", direct);
    }

    @Property(tries = 60)
    void transposed(@ForAll long seed, @ForAll boolean withBias, @ForAll boolean direct) {
        ConvCase k = ConvCase.draw(seed);
        ConvTranspose2d t = k.transposed((int) Math.floorMod(seed >>> 5, Math.max(k.sh(), k.dh())),
                (int) Math.floorMod(seed >>> 11, Math.max(k.sw(), k.dw())));
        Shape in = k.output();
        int cout = k.weight().dim(1) * k.groups();
        List<Shape> shapes = withBias ? List.of(in, k.weight(), Shape.of(cout)) : List.of(in, k.weight());
        try {
            t.inferShapes(shapes);
            t.adjointConv();
        } catch (ShapeException | GraphException e) {
            Assume.that(false);
            return;
        }
        check(t, shapes, seed, "conv", direct);
    }

    /**
     * Through autodiff and the whole cuda backend: a convolution with its bias, the loss sum(y * R), and the
     * gradients of x, w and b, which the graph computes with Conv2dBackwardData, Conv2dBackwardFilter and BiasGrad
     * nodes, against the float64 reference ({@link CudaCrossBackend}).
     */
    @Property(tries = 40)
    void gradientsThroughAutodiff(@ForAll long seed) {
        ConvCase k = ConvCase.draw(seed);
        CudaCrossBackend.check(List.of(k.x(), k.weight(), Shape.of(k.o())),
                (b, xs) -> List.of(b.apply("conv", k.conv(), xs.get(0), xs.get(1), xs.get(2))), seed,
                CudaCrossBackend.Options.forward("conv").withGradients(0, 1, 2));
    }

    /** Worked case, by hand: 1x1x3x3 input 1..9, 2x2 kernel of ones, stride 1, no padding: window sums. */
    @Test
    @Tag("cuda-kernels")
    void aHandComputedConvolution() {
        CudaCrossBackend.assumeUsable();
        var plan = dev.stride.graph.Compiler.compile(OneNode.graph(DType.F32,
                new dev.stride.graph.op.Conv2d(1, 1, 0, 0, 0, 0, 1, 1, 1), List.of(Shape.of(1, 1, 3, 3), Shape.of(1, 1, 2, 2))),
                CUDA.target());
        try (var s = dev.stride.engine.Session.open(plan, CUDA, dev.stride.engine.SessionOptions.defaults())) {
            var x = dev.stride.engine.Tensor.of(Shape.of(1, 1, 3, 3), new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
            var w = dev.stride.engine.Tensor.of(Shape.of(1, 1, 2, 2), new float[] {1, 1, 1, 1});
            var y = s.run(java.util.Map.of("x0", x, "x1", w)).get("y");
            assertEquals(Shape.of(1, 1, 2, 2), y.shape());
            org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {12, 16, 24, 28}, y.toFloatArray());
        }
    }

    /** On the emulated device every convolution entry runs the direct kernel, and says so. */
    @Test
    @Tag("cuda-kernels")
    void theEmulatedDeviceRunsTheDirectKernelWhateverTheEntry() {
        assumeTrue(EmulatedDevice.unavailableReason() == null, () -> "g++: " + EmulatedDevice.unavailableReason());
        ConvCase k = ConvCase.draw(3);
        Node conv = ConvProblemTest.node(k.conv(), k.x(), k.weight());
        try (Device d = EmulatedDevice.open(CudaBackend.kernels().kernelSources())) {
            for (String entry : List.of("", "cudnn", "direct", "cudnn:engine=28;knobs=2:3,3:0;for=NVIDIA H100,cudnn 9.24.0")) {
                long[] in = {d.alloc(4 * k.x().size()), d.alloc(4 * k.weight().size())};
                long[] out = {d.alloc(4 * k.output().size())};
                CudaKernel kernel = CudaBackend.kernels().create(new CudaNode(conv, entry, in, out, d));
                assertTrue(kernel instanceof CudaConvKernels.ConvKernel, kernel.getClass().toString());
                assertEquals("direct", ((CudaConvKernels.ConvKernel) kernel).algorithm(), entry);
            }
        }
    }

    @Test
    @Tag("cuda-kernels")
    void alignmentIsTheLargestCommonPowerOfTwo() {
        assertEquals(256, CudaConvKernels.alignment(0x10000, 0x200, 0));
        assertEquals(16, CudaConvKernels.alignment(0x10000, 0x210));
        assertEquals(4, CudaConvKernels.alignment(0x104, 0x200));
    }
}
