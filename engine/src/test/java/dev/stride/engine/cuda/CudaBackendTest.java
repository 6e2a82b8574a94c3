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
import dev.stride.graph.Shape;
import dev.stride.graph.op.Binary;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The cuda backend without a GPU: registered, and every refusal says why. */
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

    @Test
    void aUsableGpuStillRefusesWhatItCannotRunWithoutTouchingTheDevice() {
        var h100 = new CudaStatus.Device(0, "NVIDIA H100 80GB HBM3", 90, 132, 80L << 30);
        var backend = new CudaBackend(() -> status(List.of(), List.of(h100)));
        Compiler.Target t = backend.target();
        assertEquals(Map.of("gpu", "NVIDIA H100 80GB HBM3", "computeCapability", "9.0", "cudaRuntime", "13.0",
                "cudnn", "9.24.0", "cublas", "13.1.1"), t.info());
        var noKernels = assertThrows(UnsupportedOperationException.class,
                () -> backend.load(addPlan(t, DType.F32), SessionOptions.defaults()));
        assertTrue(noKernels.getMessage().contains("the cuda backend has no kernels yet")
                && noKernels.getMessage().contains("this plan needs {Add=1}"), noKernels.getMessage());
        var f64 = assertThrows(IllegalArgumentException.class,
                () -> backend.load(addPlan(t, DType.F64), SessionOptions.defaults()));
        assertEquals("the cuda backend runs float32 plans; this plan is F64", f64.getMessage());
    }

    /**
     * On this machine, whatever it has: a plan compiled for "cuda" does not open, and the message says why (no
     * library, no driver, no device), or, where a GPU is usable, that the backend has no kernels yet.
     */
    @Test
    void sessionOpenOfACudaPlanFailsWithTheReasonHere() {
        Plan plan = addPlan(new CudaBackend().target(), DType.F32);
        assertEquals("cuda", plan.target());
        RuntimeException e = assertThrows(RuntimeException.class, () -> Session.open(plan).close());
        CudaStatus here = CudaLibraries.system();
        if (here.available()) {
            assertTrue(e.getMessage().contains("the cuda backend has no kernels yet"), e.getMessage());
        } else {
            assertEquals("backend 'cuda' is not usable here: " + here.unavailableReason(), e.getMessage());
            assertTrue(e.getMessage().matches("(?s).*(not found|no NVIDIA driver|no usable NVIDIA driver|no CUDA device"
                    + "|too old|passed over).*"), e.getMessage());
        }
    }
}
