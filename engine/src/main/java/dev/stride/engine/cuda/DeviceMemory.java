package dev.stride.engine.cuda;

import dev.stride.cuda.cudart.Cudart;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.stride.engine.cuda.CudaCalls.cuda;

/**
 * A block of device memory from one cudaMalloc (or pinned host memory from cudaMallocHost). Device pointers are
 * zero-length segments: Java never dereferences them, it only passes {@link #at(long)} to CUDA calls.
 */
final class DeviceMemory implements AutoCloseable {
    final MemorySegment base;
    final long bytes;
    private final boolean pinnedHost;
    private boolean closed;

    private DeviceMemory(MemorySegment base, long bytes, boolean pinnedHost) {
        this.base = base;
        this.bytes = bytes;
        this.pinnedHost = pinnedHost;
    }

    /** cudaMalloc of at least one byte (CUDA returns NULL for zero), 256-byte aligned by CUDA. */
    static DeviceMemory device(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            cuda(Cudart.cudaMalloc(out, Math.max(bytes, 1)), "cudaMalloc(" + bytes + " bytes)");
            return new DeviceMemory(out.get(ValueLayout.ADDRESS, 0), bytes, false);
        }
    }

    /** Page-locked host memory, so that copies to and from the device are true DMA; readable from Java. */
    static DeviceMemory pinnedHost(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            cuda(Cudart.cudaMallocHost(out, Math.max(bytes, 1)), "cudaMallocHost(" + bytes + " bytes)");
            return new DeviceMemory(out.get(ValueLayout.ADDRESS, 0).reinterpret(Math.max(bytes, 1)), bytes, true);
        }
    }

    /** Device pointer at a byte offset. */
    MemorySegment at(long offset) {
        if (offset < 0 || offset > bytes) throw new IndexOutOfBoundsException("offset " + offset + " of " + bytes + " bytes");
        return MemorySegment.ofAddress(base.address() + offset);
    }

    @Override public void close() {
        if (closed) return;
        closed = true;
        if (pinnedHost) cuda(Cudart.cudaFreeHost(base), "cudaFreeHost");
        else cuda(Cudart.cudaFree(base), "cudaFree");
    }
}
