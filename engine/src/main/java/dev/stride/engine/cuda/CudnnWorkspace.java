package dev.stride.engine.cuda;

import java.util.Map;
import java.util.WeakHashMap;

/**
 * The cuDNN workspace of a session: one device allocation per {@link Device} (a program owns its device), as large
 * as the largest workspace any of its convolution nodes needs. Nodes state their need while the session loads
 * ({@link #require}), which grows the allocation then; at run time they read {@link #address()}, so a step
 * allocates nothing. Nodes run one after the other on one stream, so they can all share it.
 */
final class CudnnWorkspace {
    /** By device, weakly: the workspace goes with the device (which frees its memory when it closes). */
    private static final Map<Device, CudnnWorkspace> BY_DEVICE = new WeakHashMap<>();

    private long address;
    private long bytes;

    private CudnnWorkspace() {}

    static synchronized CudnnWorkspace of(Device d) { return BY_DEVICE.computeIfAbsent(d, k -> new CudnnWorkspace()); }

    /** At least {@code need} bytes from now on; reallocates (at load time) when the current block is smaller. */
    synchronized void require(Device d, long need) {
        if (need <= bytes) return;
        if (address != 0) d.free(address);
        address = 0;
        address = d.alloc(need);
        bytes = need;
    }

    /** The current block (0 while no node needed any), at least as large as every {@link #require}. */
    synchronized long address() { return address; }

    synchronized long bytes() { return bytes; }
}
