package dev.stride.engine.cuda;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The emulated device itself: memory, copies, argument passing, and that its grid exposes kernels without a grid-stride loop. */
class EmulatedDeviceTest {
    private static final KernelSources TEST = KernelSources.of(List.of("contract_test.cu"));

    @BeforeAll
    static void needsGxx() {
        String why = EmulatedDevice.unavailableReason();
        assumeTrue(why == null, () -> "emulated cuda device unavailable: " + why);
    }

    private static float[] read(Device d, long src, int n) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment host = a.allocate(4L * n);
            d.copyToHost(src, host, 0, 4L * n);
            return host.toArray(ValueLayout.JAVA_FLOAT);
        }
    }

    @Test
    void gridStrideKernelsCoverEveryElementAndOthersDoNot() {
        int n = 20;   // more than the emulated grid's 2 x 3 threads
        try (Device d = EmulatedDevice.open(TEST)) {
            long y = d.alloc(4L * n);
            d.launch("stride_test_iota", n, Arg.ptr(y), Arg.i64(n), Arg.f32(0.5f));
            float[] want = new float[n];
            for (int i = 0; i < n; i++) want[i] = 0.5f * i;
            assertArrayEquals(want, read(d, y, n));

            long z = d.alloc(4L * n);
            d.launch("stride_test_iota_no_loop", n, Arg.ptr(z), Arg.i64(n), Arg.f32(0.5f));
            float[] got = read(d, z, n);
            int threads = EmulatedDevice.BLOCKS * EmulatedDevice.THREADS;
            for (int i = 0; i < threads; i++) assertEquals(want[i], got[i]);
            for (int i = threads; i < n; i++) assertNotEquals(want[i], got[i], "element " + i + " was not written, yet it holds the value");
        }
    }

    @Test
    void argumentsOfEveryKindArriveAndLaunchesCanBeUpdated() {
        try (Device d = EmulatedDevice.open(TEST); Arena a = Arena.ofConfined()) {
            long out = d.alloc(5 * 8), e = d.alloc(8);
            d.copyToDevice(a.allocateFrom(ValueLayout.JAVA_DOUBLE, Math.PI), 0, e, 8);
            Launch l = d.prepare("stride_test_args", 1, Arg.ptr(out), Arg.i32(-7), Arg.i64(1L << 40), Arg.f32(0.25f),
                    Arg.f64(1e-300), Arg.ptr(e));
            l.run();
            MemorySegment host = a.allocate(5 * 8);
            d.copyToHost(out, host, 0, 5 * 8);
            assertArrayEquals(new double[] {-7, 1L << 40, 0.25, 1e-300, Math.PI}, host.toArray(ValueLayout.JAVA_DOUBLE));
            l.set(2, Arg.i64(-3));
            l.run();
            d.copyToHost(out, host, 0, 5 * 8);
            assertEquals(-3, host.getAtIndex(ValueLayout.JAVA_DOUBLE, 1));
            assertThrows(IllegalArgumentException.class, () -> l.set(2, Arg.i32(1)));
        }
    }

    @Test
    void copiesAndMemsetStayInsideAllocations() {
        try (Device d = EmulatedDevice.open(TEST); Arena a = Arena.ofConfined()) {
            long x = d.alloc(16), y = d.alloc(16);
            d.copyToDevice(a.allocateFrom(ValueLayout.JAVA_FLOAT, 1, 2, 3, 4), 0, x, 16);
            d.copy(x + 4, y, 12);
            d.memset(y + 12, 0, 4);
            assertArrayEquals(new float[] {2, 3, 4, 0}, read(d, y, 4));
            var e = assertThrows(IllegalArgumentException.class, () -> d.copy(x, y + 8, 16));
            assertTrue(e.getMessage().contains("not inside an allocation"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> d.launch("stride_test_iota", 4, Arg.ptr(12345), Arg.i64(4), Arg.f32(1)));
            var missing = assertThrows(IllegalArgumentException.class, () -> d.prepare("stride_nope", 1));
            assertTrue(missing.getMessage().contains("no kernel 'stride_nope'"), missing.getMessage());
        }
    }

    @Test
    void aKernelThatDoesNotCompileNamesItsFileAndLine() {
        assumeTrue(EmulatedDevice.unavailableReason() == null);
        var e = assertThrows(IllegalStateException.class, () -> EmulatedDevice.open(KernelSources.of(List.of("broken_test.cu"))));
        assertTrue(e.getMessage().contains("broken_test.cu:4"), e.getMessage());
    }
}
