package dev.stride.engine.cuda;

import dev.stride.cuda.CudaLibraries;
import dev.stride.cuda.CudaLibrary;
import dev.stride.cuda.CudaStatus;

import net.jqwik.api.lifecycle.LifecycleContext;
import net.jqwik.api.lifecycle.SkipExecutionHook;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * For tests that call libcudnn without a device (descriptors, graphs, engines): they run where the locator
 * loaded cuDNN (with {@code CUDNN_PATH} and {@code CUDA_HOME} naming an unpacked cuDNN and CUDA runtime, no
 * driver needed) and are skipped with the locator's words otherwise.
 */
final class CudnnLibrary {
    private CudnnLibrary() {}

    static boolean loaded() {
        CudaStatus s = CudaLibraries.system();
        return s.libraries().stream().anyMatch(l -> l.library() == CudaLibrary.CUDNN && l.state() == CudaStatus.State.LOADED);
    }

    static String why() {
        return "libcudnn is not loaded here (set CUDNN_PATH and CUDA_HOME to run these tests without a GPU): "
                + CudaLibraries.system().libraries().stream()
                .filter(l -> l.library() == CudaLibrary.CUDNN || l.library() == CudaLibrary.CUDART)
                .map(l -> l.library() + " " + l.state() + (l.detail() == null ? "" : " (" + l.detail() + ")")).toList();
    }

    /** Skips the calling JUnit test, with the reason, unless libcudnn is loaded. */
    static void assume() { assumeTrue(loaded(), CudnnLibrary::why); }

    /** For jqwik properties: {@code @AddLifecycleHook(CudnnLibrary.Needed.class)} skips them, with the reason. */
    static final class Needed implements SkipExecutionHook {
        @Override public SkipResult shouldBeSkipped(LifecycleContext context) {
            return loaded() ? SkipResult.doNotSkip() : SkipResult.skip(why());
        }
    }
}
