package dev.stride.engine.cuda;

import dev.stride.cuda.CudaLibraries;
import dev.stride.cuda.CudaStatus;
import dev.stride.cuda.SearchPath;
import dev.stride.engine.Backend;
import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Plan;
import dev.stride.graph.GradContext;
import dev.stride.graph.Value;
import dev.stride.graph.Op;
import dev.stride.graph.Shape;
import dev.stride.engine.Tensor;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.Dense;
import dev.stride.graph.op.MatMul;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The cuda backend without a GPU: registered, every refusal says why, and the frame runs on the emulated device. */
class CudaBackendTest {
    private static Plan addPlan(Compiler.Target target, DType dtype) {
        var b = new GraphBuilder(dtype, false);
        var x = b.input("x", 2, 3);
        b.output("y", b.apply("add", new Binary(Binary.Kind.ADD), x, x));
        return Compiler.compile(b.build(), target);
    }

    private static CudaStatus status(List<String> problems, List<CudaStatus.Device> devices) {
        var path = new SearchPath(List.of(new SearchPath.Dir(Path.of("/nowhere/lib64"), "CUDA_HOME")));
        return new CudaStatus(List.of(), path, new CudaStatus.Versions(13000, 13000, 92400, 13000, "13.1.1", 13000),
                devices, problems, List.of());
    }

    @Test
    void registeredThroughTheServiceLoader() {
        assertTrue(Backend.all().stream().anyMatch(b -> b.name().equals("cuda") && b instanceof CudaBackend),
                Backend.all().stream().map(Backend::name).toList().toString());
    }

    @Test
    void unavailableReasonIsTheLocatorsExplanation() {
        var backend = new CudaBackend(() -> status(List.of("cuDNN: libcudnn.so.9 not found in any searched directory"), List.of()));
        String why = backend.unavailableReason();
        assertTrue(why.startsWith("CUDA is not usable: cuDNN: libcudnn.so.9 not found in any searched directory."), why);
        var e = assertThrows(IllegalStateException.class,
                () -> backend.load(addPlan(backend.target(), DType.F32), SessionOptions.defaults()));
        assertTrue(e.getMessage().startsWith("the cuda backend cannot load a plan here: CUDA is not usable: cuDNN:"),
                e.getMessage());
    }

    /** A relu, a log-softmax and another relu: the log-softmax has no cuda kernel (yet). */
    private static Plan matmulPlan(Compiler.Target target) {
        var b = new GraphBuilder(DType.F32, false);
        var x = b.input("x", 2, 3);
        b.output("y", b.relu(b.apply("lsm", new NoCudaKernel(), b.relu(x))));
        var plan = Compiler.compile(b.build(), target);
        return plan;
    }

    @Test
    void aUsableGpuStillRefusesWhatItCannotRunWithoutTouchingTheDevice() {
        var h100 = new CudaStatus.Device(0, "NVIDIA H100 80GB HBM3", 90, 132, 80L << 30);
        var backend = new CudaBackend(() -> status(List.of(), List.of(h100)));
        Compiler.Target t = backend.target();
        assertEquals(Map.of("gpu", "NVIDIA H100 80GB HBM3", "computeCapability", "9.0", "cudaRuntime", "13.0",
                "cudnn", "9.24.0", "cublas", "13.1.1"), t.info());
        Plan plan = matmulPlan(t);
        String matmul = plan.scheduledNodes().stream().filter(n -> n.op() instanceof NoCudaKernel).findFirst().orElseThrow().name();
        var noKernel = assertThrows(UnsupportedOperationException.class, () -> backend.load(plan, SessionOptions.defaults()));
        assertEquals("the cuda backend has no kernel for NoCudaKernel (node '" + matmul + "'). Run this plan on the 'cpu' or"
                + " 'reference' backend: Session.open(plan, \"cpu\", options)", noKernel.getMessage());
        var f64 = assertThrows(IllegalArgumentException.class,
                () -> backend.load(addPlan(t, DType.F64), SessionOptions.defaults()));
        assertEquals("the cuda backend runs float32 plans; this plan is F64", f64.getMessage());
    }

    @Test
    void theMissingKernelsAreListedByKindWithEveryNode() {
        var b = new GraphBuilder(DType.F32, false);
        var x = b.input("x", 2, 2);
        var m1 = b.apply("m1", new MatMul(false, false), x, x);
        var m2 = b.apply("m2", new MatMul(false, true), m1, x);
        b.output("y", b.apply("d", new Dense(), m2, x));
        Plan plan = Compiler.compile(b.build(), CudaBackend.emulated().target());
        // A registry with the element-wise family only: the standard one covers every op (CudaOpCoverageTest).
        CudaKernelRegistry elementwiseOnly = new CudaKernelRegistry();
        CudaElementwiseKernels.register(elementwiseOnly);
        assertEquals("MatMul (nodes 'm1', 'm2'), Dense (node 'd')", elementwiseOnly.missing(plan));
        var r = new GraphBuilder(DType.F32, false);
        r.output("y", r.relu(r.input("x", 2)));
        assertEquals(null, CudaBackend.kernels().missing(Compiler.compile(r.build(), CudaBackend.emulated().target())));
    }

    /** The frame end to end on the emulated device: a plan of cuda kernels, weights written, outputs read back. */
    @Test
    void anEmulatedSessionRunsAPlanOfCudaKernels() {
        assumeTrue(EmulatedDevice.unavailableReason() == null, () -> "no emulated device: " + EmulatedDevice.unavailableReason());
        var b = new GraphBuilder(DType.F32, false);
        var x = b.input("x", 3, 5);
        b.output("y", b.relu(x));
        b.output("x_out", x);
        Plan plan = Compiler.compile(b.build(), CudaBackend.emulated().target());
        float[] xs = new float[15];
        for (int i = 0; i < xs.length; i++) xs[i] = i * 0.5f - 3;
        xs[4] = Float.NaN;
        xs[5] = -0f;
        try (Session s = Session.open(plan, CudaBackend.emulated(), SessionOptions.defaults())) {
            Map<String, Tensor> out = s.run(Map.of("x", Tensor.of(Shape.of(3, 5), xs)));
            float[] y = out.get("y").toFloatArray();
            for (int i = 0; i < xs.length; i++)
                assertEquals(Float.floatToIntBits((float) Math.max(xs[i], 0.0)), Float.floatToIntBits(y[i]), "element " + i);
            assertArrayEquals(xs, out.get("x_out").toFloatArray());
        }
    }

    /** Session.algorithm names what each node's kernel runs: on the emulated device the direct kernels. */
    @Test
    void theSessionReportsWhatEachKernelRuns() {
        assumeTrue(EmulatedDevice.unavailableReason() == null, () -> "no emulated device: " + EmulatedDevice.unavailableReason());
        var b = new GraphBuilder(DType.F32, false);
        var x = b.input("x", 1, 2, 5, 5);
        var c = b.conv2d("conv", x, 3, 3, dev.stride.graph.ConvSpec.defaults());
        var d = b.dense("fc", b.flatten(c), 4);
        b.output("y", b.relu(d));
        Plan plan = Compiler.compile(b.build(), CudaBackend.emulated().target());
        try (Session s = Session.open(plan, CudaBackend.emulated(), SessionOptions.defaults())) {
            Map<String, String> ran = new java.util.TreeMap<>();
            for (var n : plan.scheduledNodes()) ran.put(n.op().kind(), s.algorithm(n.id()));
            assertEquals("direct", ran.get("Conv2d"), ran.toString());
            assertEquals("direct", ran.get("Dense"), ran.toString());
            assertEquals("", ran.get("Relu"), ran.toString());
        }
    }

    /**
     * On this machine, whatever it has: a plan compiled for "cuda" does not open, and the message says why (no
     * library, no driver, no device). Where a GPU is usable there is nothing to check here (CudaGpuTest runs it).
     */
    @Test
    void sessionOpenOfACudaPlanFailsWithTheReasonHere() {
        assumeTrue(!CudaLibraries.system().available(), "a GPU is usable here: CudaGpuTest covers it");
        Plan plan = addPlan(new CudaBackend().target(), DType.F32);
        assertEquals("cuda", plan.target());
        RuntimeException e = assertThrows(RuntimeException.class, () -> Session.open(plan).close());
        CudaStatus here = CudaLibraries.system();
        assertEquals("backend 'cuda' is not usable here: " + here.unavailableReason(), e.getMessage());
        assertTrue(e.getMessage().matches("(?s).*(not found|no NVIDIA driver|no usable NVIDIA driver|no CUDA device"
                + "|too old|passed over).*"), e.getMessage());
    }

    /** An op no backend has a kernel for: every op of the IR has a cuda kernel (CudaOpCoverageTest). */
    record NoCudaKernel() implements Op {
        @Override public List<Shape> inferShapes(List<Shape> inputs) { return List.of(inputs.getFirst()); }

        @Override public List<Value> backward(GradContext g) { return Op.noGradient(g); }
    }
}
