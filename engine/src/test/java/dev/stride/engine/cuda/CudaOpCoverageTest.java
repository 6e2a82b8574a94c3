package dev.stride.engine.cuda;

import dev.stride.graph.Op;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every op of the IR has a cuda kernel: the cuda backend has no fallback (a plan with an op it lacks is refused at
 * load), so an op without one would make every plan that uses it unusable on a GPU.
 */
class CudaOpCoverageTest {
    @Test
    @SuppressWarnings("unchecked")
    void everyOpHasACudaKernel() throws Exception {
        Method all = Class.forName("dev.stride.engine.reference.OpCoverageTest").getDeclaredMethod("allOps");
        all.setAccessible(true);
        List<Class<? extends Op>> ops = (List<Class<? extends Op>>) all.invoke(null);
        assertTrue(ops.size() >= 50, "found only " + ops.size() + " ops");
        List<String> missing = ops.stream().filter(c -> !CudaBackend.kernels().supports(c))
                .map(Class::getSimpleName).sorted().toList();
        assertTrue(missing.isEmpty(), "ops without a cuda kernel: " + missing);
    }
}
