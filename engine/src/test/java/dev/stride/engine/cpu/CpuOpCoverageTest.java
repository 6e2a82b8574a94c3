package dev.stride.engine.cpu;

import dev.stride.graph.Op;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every op of the IR has a cpu kernel: the reference fallback exists for plans from the future, not as a way
 * for the cpu backend to skip an op.
 */
class CpuOpCoverageTest {
    @Test
    @SuppressWarnings("unchecked")
    void everyOpHasACpuKernel() throws Exception {
        Method all = Class.forName("dev.stride.engine.reference.OpCoverageTest").getDeclaredMethod("allOps");
        all.setAccessible(true);
        List<Class<? extends Op>> ops = (List<Class<? extends Op>>) all.invoke(null);
        assertTrue(ops.size() >= 50, "found only " + ops.size() + " ops");
        List<String> missing = ops.stream().filter(c -> !CpuBackend.kernels().supports(c))
                .map(Class::getSimpleName).sorted().toList();
        assertTrue(missing.isEmpty(), "ops without a cpu kernel: " + missing);
    }
}
