package dev.stride.engine.cuda;

import dev.stride.engine.Backend;
import net.jqwik.api.lifecycle.LifecycleContext;
import net.jqwik.api.lifecycle.SkipExecutionHook;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The cuda backend the convolution and dense kernel tests run: the emulated device (g++, on the host) by default,
 * the GPU with {@code -Dstride.cuda.device=gpu} (the -Pgpu profile and tools/gpu-check.sh set it). Where it cannot
 * run, the tests are skipped with the reason.
 */
final class CudaUnderTest {
    private CudaUnderTest() {}

    static boolean gpu() { return "gpu".equals(System.getProperty("stride.cuda.device")); }

    static Backend backend() { return gpu() ? new CudaBackend() : CudaBackend.emulated(); }

    static String unavailableReason() {
        String why = backend().unavailableReason();
        return why == null ? null : "cuda backend (" + (gpu() ? "GPU" : "emulated device") + ") not usable here: " + why;
    }

    /** Skips the calling JUnit test, with the reason, when the backend under test cannot run here. */
    static void assume() { assumeTrue(unavailableReason() == null, CudaUnderTest::unavailableReason); }

    /** For jqwik: {@code @AddLifecycleHook(CudaUnderTest.Usable.class)}. */
    static final class Usable implements SkipExecutionHook {
        @Override public SkipResult shouldBeSkipped(LifecycleContext context) {
            String why = unavailableReason();
            return why == null ? SkipResult.doNotSkip() : SkipResult.skip(why);
        }
    }
}
