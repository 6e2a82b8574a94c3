package dev.stride.engine.cuda;

import dev.stride.cuda.CudaLibraries;
import dev.stride.cuda.CudaStatus;
import dev.stride.cuda.cudart.Cudart;
import dev.stride.engine.Session;
import dev.stride.engine.SessionOptions;
import dev.stride.engine.Tensor;
import dev.stride.graph.Compiler;
import dev.stride.graph.DType;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.Init;
import dev.stride.graph.Shape;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.SplittableRandom;

import static dev.stride.engine.cuda.CudaCalls.cuda;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Needs a GPU: excluded from the default run (surefire's excludedGroups), run with
 * {@code ./mvnw -q test -pl engine -am -Pgpu}. Without a usable GPU every test is skipped with the locator's reason.
 */
@Tag("gpu")
class CudaGpuTest {
    @BeforeAll
    static void describeTheMachine() {
        CudaStatus s = CudaLibraries.system();
        System.err.println("CudaGpuTest: " + (s.available() ? "running on" : "every test skipped, no usable GPU:")
                + "\n" + s.describe());
    }

    /** Per test, so that each one is reported skipped, with the reason. */
    @BeforeEach
    void needsAUsableGpu() {
        CudaStatus s = CudaLibraries.system();
        assumeTrue(s.available(), () -> "no usable GPU: " + s.unavailableReason());
    }

    @Test
    void librariesReportSupportedVersionsAndADevice() {
        CudaStatus s = CudaLibraries.system();
        assertTrue(s.versions().runtime() >= CudaLibraries.MIN_RUNTIME, s.describe());
        assertTrue(s.versions().cudnn() >= CudaLibraries.MIN_CUDNN, s.describe());
        assertTrue(s.devices().getFirst().computeCapability() >= 50, s.describe());
        assertTrue(s.devices().getFirst().totalMemory() > 0, s.describe());
    }

    /** cuBLAS SGEMM through the handles on the context's stream, against a triple loop in double. */
    @Test
    void cublasSgemmMatchesATripleLoop() {
        var rnd = new SplittableRandom(7);
        int[][] shapes = {{1, 1, 1}, {3, 5, 7}, {64, 64, 64}, {129, 33, 257}, {1, 1000, 17}};
        try (CudaContext ctx = new CudaContext(0); Arena host = Arena.ofConfined()) {
            for (int[] mnk : shapes) {
                int m = mnk[0], n = mnk[1], k = mnk[2];
                float[] a = new float[m * k], b = new float[k * n];
                for (int i = 0; i < a.length; i++) a[i] = (float) (rnd.nextDouble() * 2 - 1);
                for (int i = 0; i < b.length; i++) b[i] = (float) (rnd.nextDouble() * 2 - 1);
                float[] c = new float[m * n];
                try (var da = DeviceMemory.device(4L * a.length); var db = DeviceMemory.device(4L * b.length);
                     var dc = DeviceMemory.device(4L * c.length)) {
                    // Everything on the context's stream (non-blocking: it does not wait for the legacy default stream).
                    toDevice(ctx, host, da, a);
                    toDevice(ctx, host, db, b);
                    ctx.sgemmRowMajor(m, n, k, da.at(0), db.at(0), dc.at(0));
                    MemorySegment out = host.allocate(4L * c.length);
                    cuda(Cudart.cudaMemcpyAsync(out, dc.at(0), out.byteSize(), Cudart.cudaMemcpyDeviceToHost(), ctx.stream),
                            "cudaMemcpyAsync");
                    ctx.synchronize();
                    MemorySegment.copy(out, ValueLayout.JAVA_FLOAT, 0, c, 0, c.length);
                }
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double exact = 0, magnitude = 0;
                        for (int p = 0; p < k; p++) {
                            exact += (double) a[i * k + p] * b[p * n + j];
                            magnitude += Math.abs((double) a[i * k + p] * b[p * n + j]);
                        }
                        // float32 accumulation (no TF32: cuBLAS's default math mode) in any order: k ulps of the magnitude.
                        double tol = 2 * k * Math.ulp(1f) * magnitude + 1e-30;
                        float got = c[i * n + j];
                        assertTrue(Math.abs(got - exact) <= tol, "C[" + i + "][" + j + "] of " + m + "x" + n + "x" + k
                                + ": " + got + " vs " + exact + " (tolerance " + tol + ")");
                    }
                }
            }
        }
    }

    private static void toDevice(CudaContext ctx, Arena host, DeviceMemory d, float[] values) {
        MemorySegment src = host.allocateFrom(ValueLayout.JAVA_FLOAT, values);
        cuda(Cudart.cudaMemcpyAsync(d.at(0), src, src.byteSize(), Cudart.cudaMemcpyHostToDevice(), ctx.stream),
                "cudaMemcpyAsync");
        ctx.synchronize();
    }

    /**
     * The kernel sources compile for this GPU (NVRTC, its compute capability), the module loads, every kernel is found
     * and a launch runs: the cuda-kernels tests (run on this GPU by -Pgpu) then check what they compute.
     */
    @Test
    void everyKernelCompilesLoadsAndLaunches() {
        KernelSources sources = CudaBackend.kernels().kernelSources();
        try (CudaDevice d = CudaDevice.open(0, sources); Arena host = Arena.ofConfined()) {
            var m = java.util.regex.Pattern.compile("extern \"C\" __global__ void (stride_\\w+)").matcher(sources.unit());
            int kernels = 0;
            while (m.find()) {
                d.prepare(m.group(1), 0).run();   // found; 0 elements launch nothing
                kernels++;
            }
            assertTrue(kernels > 10, sources.files() + ": " + kernels + " kernels");
            // More elements than a launch has threads (MAX_BLOCKS * BLOCK): the grid-stride loop goes round.
            int n = CudaDevice.MAX_BLOCKS * CudaDevice.BLOCK + 12345;
            long y = d.alloc(4L * n);
            d.launch("stride_fill", n, Arg.ptr(y), Arg.i64(n), Arg.f32(2.5f));
            MemorySegment out = host.allocate(4L * n);
            d.copyToHost(y, out, 0, 4L * n);
            for (int i = 0; i < n; i += 9973) assertEquals(2.5f, out.getAtIndex(ValueLayout.JAVA_FLOAT, i));
            assertEquals(2.5f, out.getAtIndex(ValueLayout.JAVA_FLOAT, n - 1));
        }
    }

    /** A plan with no nodes: parameters and inputs go to the device arena and come back unchanged. */
    @Test
    void deviceArenaRoundTripThroughASession() {
        var b = new GraphBuilder(DType.F32, false);
        var x = b.input("x", 3, 5);
        var w = b.param("w", Shape.of(4, 2), Init.kaimingNormal());
        b.output("x_out", x);
        b.output("w_out", w);
        var plan = Compiler.compile(b.build(), new CudaBackend().target());
        float[] xs = new float[15];
        for (int i = 0; i < xs.length; i++) xs[i] = i * 0.5f - 3;
        try (Session onGpu = Session.open(plan, "cuda", SessionOptions.defaults());
             Session onCpu = Session.open(plan, "reference", SessionOptions.defaults())) {
            Map<String, Tensor> out = onGpu.run(Map.of("x", Tensor.of(Shape.of(3, 5), xs)));
            assertArrayEquals(xs, out.get("x_out").toFloatArray());
            // Same seed, same initialiser: the weights written to the device read back bit for bit.
            assertArrayEquals(onCpu.get("w").toFloatArray(), onGpu.get("w").toFloatArray());
            assertArrayEquals(onCpu.get("w").toFloatArray(), out.get("w_out").toFloatArray());
            assertEquals(Shape.of(4, 2), out.get("w_out").shape());
        }
    }
}
