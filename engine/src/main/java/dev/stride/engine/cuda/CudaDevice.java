package dev.stride.engine.cuda;

import dev.stride.cuda.CudaLibraries;
import dev.stride.cuda.CudaStatus;
import dev.stride.cuda.cudart.Cudart;
import dev.stride.cuda.driver.CudaDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

import static dev.stride.engine.cuda.CudaCalls.cuda;
import static dev.stride.engine.cuda.CudaCalls.driver;

/**
 * A GPU: memory and copies through the CUDA runtime on the {@link CudaContext}'s stream, the kernel sources
 * compiled to PTX by NVRTC ({@link NvrtcCompiler}, once per process), loaded as a module with the driver API in the
 * device's primary context (the one the runtime uses, so runtime memory and driver launches share it), and kernels
 * launched with cuLaunchKernel on the same stream: {@value #BLOCK} threads per block, as many blocks as cover the
 * elements up to {@value #MAX_BLOCKS} (the kernels' grid-stride loops cover the rest).
 */
public final class CudaDevice implements Device {
    /** Threads per block of every launch. */
    public static final int BLOCK = 256;
    /** At most this many blocks per launch (valid on every GPU; grid-stride loops cover larger tensors). */
    public static final int MAX_BLOCKS = 65535;

    private final int ordinal;
    /** The driver API's CUdevice of {@link #ordinal}. */
    private final int cuDevice;
    private final CudaStatus.Device info;
    private final CudaContext ctx;
    private final MemorySegment primaryContext;
    private final MemorySegment module;
    private final Arena arena = Arena.ofShared();
    private final Map<String, MemorySegment> functions = new HashMap<>();
    private final Map<Long, DeviceMemory> allocations = new LinkedHashMap<>();
    private final Map<Long, DeviceMemory> hostAllocations = new LinkedHashMap<>();
    /** The thread the primary context was last made current on (driver API calls need it current). */
    private Thread current;
    private boolean closed;

    private CudaDevice(int ordinal, int cuDevice, CudaStatus.Device info, CudaContext ctx, MemorySegment primaryContext,
                       MemorySegment module) {
        this.ordinal = ordinal;
        this.cuDevice = cuDevice;
        this.info = info;
        this.ctx = ctx;
        this.primaryContext = primaryContext;
        this.module = module;
        this.current = Thread.currentThread();
    }

    /**
     * Device {@code ordinal} with {@code sources} compiled and loaded. Needs a usable GPU
     * ({@link CudaLibraries#require()}); fails with NVRTC's log if a kernel does not compile, with the JIT's log if
     * the module does not load.
     */
    public static CudaDevice open(int ordinal, KernelSources sources) {
        CudaStatus status = CudaLibraries.require();
        if (ordinal < 0 || ordinal >= status.devices().size())
            throw new IllegalArgumentException("no CUDA device " + ordinal + "; this machine has " + status.devices().size());
        CudaStatus.Device info = status.devices().get(ordinal);
        byte[] ptx = NvrtcCompiler.ptx(sources, info.computeCapability());
        CudaContext ctx = new CudaContext(ordinal);   // cudaSetDevice: the runtime's primary context is current now
        int cuDevice = -1;
        try (Arena a = Arena.ofConfined()) {
            driver(CudaDriver.cuInit(0), "cuInit");
            MemorySegment dev = a.allocate(ValueLayout.JAVA_INT);
            driver(CudaDriver.cuDeviceGet(dev, ordinal), "cuDeviceGet(" + ordinal + ")");
            MemorySegment pctx = a.allocate(ValueLayout.ADDRESS);
            driver(CudaDriver.cuDevicePrimaryCtxRetain(pctx, dev.get(ValueLayout.JAVA_INT, 0)), "cuDevicePrimaryCtxRetain");
            cuDevice = dev.get(ValueLayout.JAVA_INT, 0);
            MemorySegment primary = pctx.get(ValueLayout.ADDRESS, 0);
            driver(CudaDriver.cuCtxSetCurrent(primary), "cuCtxSetCurrent");
            return new CudaDevice(ordinal, cuDevice, info, ctx, primary, loadModule(a, ptx, sources));
        } catch (RuntimeException e) {
            if (cuDevice >= 0) CudaDriver.cuDevicePrimaryCtxRelease_v2(cuDevice);
            ctx.close();
            throw e;
        }
    }

    /** cuModuleLoadDataEx with the JIT's error log, so that a PTX the driver refuses says why. */
    private static MemorySegment loadModule(Arena a, byte[] ptx, KernelSources sources) {
        int logBytes = 16 * 1024;
        MemorySegment log = a.allocate(logBytes);
        MemorySegment options = a.allocate(ValueLayout.JAVA_INT, 2);
        options.setAtIndex(ValueLayout.JAVA_INT, 0, CudaDriver.CU_JIT_ERROR_LOG_BUFFER());
        options.setAtIndex(ValueLayout.JAVA_INT, 1, CudaDriver.CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES());
        MemorySegment values = a.allocate(ValueLayout.ADDRESS, 2);
        values.setAtIndex(ValueLayout.ADDRESS, 0, log);
        values.setAtIndex(ValueLayout.ADDRESS, 1, MemorySegment.ofAddress(logBytes));  // a value, passed as void*
        MemorySegment out = a.allocate(ValueLayout.ADDRESS);
        int status = CudaDriver.cuModuleLoadDataEx(out, a.allocateFrom(ValueLayout.JAVA_BYTE, ptx), 2, options, values);
        if (status != 0)
            throw new CudaCalls.CudaException("cuModuleLoadDataEx of the kernels " + sources.files() + " failed: "
                    + CudaCalls.driverError(status) + "\n" + log.getString(0).strip(), status);
        return out.get(ValueLayout.ADDRESS, 0);
    }

    /** The stream, cuBLAS and cuDNN handles: for kernels that call the libraries (convolution, GEMM). */
    CudaContext context() { return ctx; }

    @Override public String describe() {
        return info.name() + " (device " + ordinal + ", sm_" + info.computeCapability() + ", " + info.multiprocessors()
                + " SMs)";
    }

    /**
     * On a thread that has not used this device yet, makes it the runtime's current device and the primary context
     * the driver API's current context: both are per thread, and a session may move between threads.
     */
    private void makeCurrent() {
        ensureOpen();
        Thread t = Thread.currentThread();
        if (t != current) {
            cuda(Cudart.cudaSetDevice(ordinal), "cudaSetDevice(" + ordinal + ")");
            driver(CudaDriver.cuCtxSetCurrent(primaryContext), "cuCtxSetCurrent");
            current = t;
        }
    }

    @Override public long alloc(long bytes) {
        makeCurrent();
        DeviceMemory m = DeviceMemory.device(bytes);
        allocations.put(m.base.address(), m);
        return m.base.address();
    }

    @Override public void free(long address) {
        makeCurrent();
        DeviceMemory m = allocations.remove(address);
        if (m == null) throw new IllegalArgumentException("free of 0x" + Long.toHexString(address) + ", not an allocation of this device");
        m.close();
    }

    @Override public MemorySegment allocHost(long bytes) {
        makeCurrent();
        DeviceMemory m = DeviceMemory.pinnedHost(bytes);
        hostAllocations.put(m.base.address(), m);
        return m.base;
    }

    @Override public void copyToDevice(MemorySegment host, long hostOffset, long dst, long bytes) {
        makeCurrent();
        cuda(Cudart.cudaMemcpyAsync(MemorySegment.ofAddress(dst), host.asSlice(hostOffset, bytes), bytes,
                Cudart.cudaMemcpyHostToDevice(), ctx.stream), "cudaMemcpyAsync(host to device, " + bytes + " bytes)");
        ctx.synchronize();
    }

    @Override public void copyToHost(long src, MemorySegment host, long hostOffset, long bytes) {
        makeCurrent();
        cuda(Cudart.cudaMemcpyAsync(host.asSlice(hostOffset, bytes), MemorySegment.ofAddress(src), bytes,
                Cudart.cudaMemcpyDeviceToHost(), ctx.stream), "cudaMemcpyAsync(device to host, " + bytes + " bytes)");
        ctx.synchronize();
    }

    @Override public void copy(long src, long dst, long bytes) {
        makeCurrent();
        if (bytes == 0) return;
        cuda(Cudart.cudaMemcpyAsync(MemorySegment.ofAddress(dst), MemorySegment.ofAddress(src), bytes,
                Cudart.cudaMemcpyDeviceToDevice(), ctx.stream), "cudaMemcpyAsync(device to device, " + bytes + " bytes)");
    }

    @Override public void memset(long dst, int value, long bytes) {
        makeCurrent();
        if (bytes == 0) return;
        cuda(Cudart.cudaMemsetAsync(MemorySegment.ofAddress(dst), value, bytes, ctx.stream), "cudaMemsetAsync");
    }

    private MemorySegment function(String name) {
        return functions.computeIfAbsent(name, n -> {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment out = a.allocate(ValueLayout.ADDRESS);
                int status = CudaDriver.cuModuleGetFunction(out, module, a.allocateFrom(n));
                if (status == CudaDriver.CUDA_ERROR_NOT_FOUND())
                    throw new IllegalArgumentException("no kernel '" + n + "' in the compiled sources: is it extern \"C\" __global__?");
                driver(status, "cuModuleGetFunction(" + n + ")");
                return out.get(ValueLayout.ADDRESS, 0);
            }
        });
    }

    /**
     * The launch's parameters live in this device's arena for its lifetime: one 8-byte slot per argument and the
     * array of pointers to them that cuLaunchKernel reads (kernelParams); {@link Launch#set} rewrites a slot.
     */
    @Override public Launch prepare(String kernel, long elements, Arg... args) {
        makeCurrent();
        if (elements < 0) throw new IllegalArgumentException(kernel + ": " + elements + " elements");
        MemorySegment f = function(kernel);
        MemorySegment slots = arena.allocate(8L * Math.max(args.length, 1), 8);
        MemorySegment params = arena.allocate(ValueLayout.ADDRESS, Math.max(args.length, 1));
        for (int i = 0; i < args.length; i++) {
            write(slots, i, args[i]);
            params.setAtIndex(ValueLayout.ADDRESS, i, slots.asSlice(8L * i, 8));
        }
        int blocks = (int) Math.min(Math.ceilDiv(Math.max(elements, 1), BLOCK), MAX_BLOCKS);
        Arg[] kinds = args.clone();
        return new Launch() {
            @Override public void run() {
                if (elements == 0) return;
                makeCurrent();
                driver(CudaDriver.cuLaunchKernel(f, blocks, 1, 1, BLOCK, 1, 1, 0, ctx.stream, params, MemorySegment.NULL),
                        "cuLaunchKernel(" + kernel + ", " + blocks + " blocks)");
            }

            @Override public void set(int index, Arg value) {
                if (value.getClass() != kinds[index].getClass())
                    throw new IllegalArgumentException(kernel + " argument " + index + " was prepared as "
                            + kinds[index].getClass().getSimpleName() + ", set as " + value.getClass().getSimpleName());
                write(slots, index, value);
            }
        };
    }

    private static void write(MemorySegment slots, int i, Arg a) {
        long at = 8L * i;
        switch (a) {
            case Arg.Ptr p -> slots.set(ValueLayout.JAVA_LONG, at, p.address());
            case Arg.I32 v -> slots.set(ValueLayout.JAVA_INT, at, v.value());
            case Arg.I64 v -> slots.set(ValueLayout.JAVA_LONG, at, v.value());
            case Arg.F32 v -> slots.set(ValueLayout.JAVA_FLOAT, at, v.value());
            case Arg.F64 v -> slots.set(ValueLayout.JAVA_DOUBLE, at, v.value());
        }
    }

    @Override public void synchronize() {
        makeCurrent();
        ctx.synchronize();
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("the CUDA device is closed");
    }

    @Override public void close() {
        if (closed) return;
        RuntimeException first = null;
        try {
            ctx.synchronize();
        } catch (RuntimeException e) {
            first = e;
        }
        closed = true;
        for (DeviceMemory m : allocations.values()) first = closeQuietly(m, first);
        for (DeviceMemory m : hostAllocations.values()) first = closeQuietly(m, first);
        allocations.clear();
        hostAllocations.clear();
        CudaDriver.cuCtxSetCurrent(primaryContext);
        CudaDriver.cuModuleUnload(module);
        first = closeQuietly(ctx, first);
        CudaDriver.cuDevicePrimaryCtxRelease_v2(cuDevice);
        arena.close();
        if (first != null) throw first;
    }

    private static RuntimeException closeQuietly(AutoCloseable r, RuntimeException first) {
        try {
            r.close();
        } catch (Exception e) {
            RuntimeException re = e instanceof RuntimeException x ? x : new IllegalStateException(e);
            if (first == null) return re;
            first.addSuppressed(re);
        }
        return first;
    }
}
