package dev.stride.engine.cuda;

import java.lang.foreign.MemorySegment;

/**
 * What the cuda backend's program and kernels need of a GPU: device memory, copies, kernel launches from the
 * compiled kernel sources ({@link KernelSources}), all in the order of one stream. Device memory is addressed by
 * plain {@code long} addresses: Java never dereferences them, it passes them to the device's calls and kernels.
 *
 * <p>Two implementations: {@link CudaDevice}, a real GPU (cudart, the driver API, NVRTC), and
 * {@link EmulatedDevice}, host memory and the same kernel sources compiled by g++: a test device that lets every
 * kernel be checked on a machine without a GPU. Owned by one thread at a time, like a session.
 *
 * <p>Ordering: {@link #copy}, {@link #memset} and launches are enqueued in order (asynchronous on a GPU);
 * {@link #copyToDevice} and {@link #copyToHost} wait for everything enqueued before them and for their own copy,
 * so the host memory may be reused (or read) when they return. Host segments must be native memory (an
 * {@code Arena}'s, or {@link #allocHost}), not arrays: the GPU copies from their addresses.
 */
public interface Device extends AutoCloseable {
    /** One line: "NVIDIA H100 80GB HBM3 (sm_90), ..." or "emulated on the host (g++ ...)". */
    String describe();

    /** At least {@code bytes} (and at least 1) of device memory, aligned to 256 bytes; contents undefined. */
    long alloc(long bytes);

    /** Returns memory from {@link #alloc}. Every allocation is also released by {@link #close}. */
    void free(long address);

    /**
     * Host memory for staging copies, released by {@link #close}: page-locked on a GPU (so copies are DMA), plain
     * native memory on the emulated device.
     */
    MemorySegment allocHost(long bytes);

    void copyToDevice(MemorySegment host, long hostOffset, long dst, long bytes);

    void copyToHost(long src, MemorySegment host, long hostOffset, long bytes);

    /** Device to device; the ranges must not overlap. */
    void copy(long src, long dst, long bytes);

    /** Sets {@code bytes} bytes at {@code dst} to {@code value} (its low 8 bits). */
    void memset(long dst, int value, long bytes);

    /**
     * Prepares a launch of {@code extern "C" __global__ void kernel(...)} over {@code elements} elements: the device
     * chooses the grid, the kernel covers [0, elements) with its grid-stride loop ({@code STRIDE_FOR}).
     *
     * @throws IllegalArgumentException when the compiled sources have no such kernel
     */
    Launch prepare(String kernel, long elements, Arg... args);

    /** {@link #prepare} and {@link Launch#run()} at once, for one-off launches (tests, setup). */
    default void launch(String kernel, long elements, Arg... args) { prepare(kernel, elements, args).run(); }

    /** Waits for everything enqueued; a failure of an asynchronous operation surfaces here at the latest. */
    void synchronize();

    /** Waits for the stream, then frees every allocation and the compiled module. */
    @Override void close();
}
