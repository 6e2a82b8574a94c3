package dev.stride.engine.cuda;

import dev.stride.cuda.CudaLibraries;
import dev.stride.cuda.CudaStatus;
import dev.stride.engine.RunContext;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Conv2dBackwardData;
import dev.stride.graph.op.Conv2dBackwardFilter;
import dev.stride.graph.op.ConvTranspose2d;

import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The convolution family's cuda kernels: Conv2d, Conv2dBackwardData, ConvTranspose2d (the data pass of its adjoint
 * convolution, plus its bias) and Conv2dBackwardFilter. (A convolution's bias gradient, BiasGrad, is the
 * element-wise family's.)
 *
 * <p>A convolution node runs on cuDNN on a GPU ({@link CudnnConv}: the graph API, engine by the plan's
 * {@link ConvAlgorithm} entry or cuDNN's heuristics, a session-wide workspace, a bias added by
 * {@code stride_conv_bias_act} unless the engine's graph adds it), and the direct kernels of conv.cu on the
 * emulated device, for a {@value ConvAlgorithm#DIRECT} entry, and wherever cuDNN refuses the configuration (with a
 * printed notice). Each convolution kernel is a {@link ConvKernel} that says which of them it runs.
 */
final class CudaConvKernels {
    private CudaConvKernels() {}

    static final String SOURCE = "conv.cu";

    /**
     * A convolution node's kernel, and what it runs: a cuDNN engine entry, or {@value ConvAlgorithm#DIRECT}. A
     * cuDNN kernel owns its descriptors: released by {@link #close} (the program's close), or when the kernel is
     * collected if nobody closed it, once either way.
     */
    static final class ConvKernel implements CudaKernel {
        private final CudaKernel body;
        private final String algorithm;
        private Cleaner.Cleanable owned;

        ConvKernel(String algorithm, CudaKernel body) {
            this.algorithm = algorithm;
            this.body = body;
        }

        /** This kernel releases {@code conv}'s descriptors. */
        ConvKernel owning(CudnnConv conv) {
            owned = CLEANER.register(this, conv::close);
            return this;
        }

        @Override public String algorithm() { return algorithm; }

        @Override public void run(RunContext ctx) { body.run(ctx); }

        @Override public void close() { if (owned != null) owned.clean(); }
    }

    static void register(CudaKernelRegistry r) {
        r.source(SOURCE);
        r.register(Conv2d.class, (op, node) -> convolution(node));
        r.register(Conv2dBackwardData.class, (op, node) -> convolution(node));
        r.register(ConvTranspose2d.class, (op, node) -> convolution(node));
        r.register(Conv2dBackwardFilter.class, (op, node) -> convolution(node));
    }

    /** Device pointers of a convolution node by the roles of its pass: x, w, y, and the bias (0 without one). */
    record Roles(long x, long w, long y, long bias) {
        static Roles of(CudaNode node, ConvProblem p) {
            long bias = p.bias() ? node.in(2) : 0;
            return switch (p.pass()) {
                case FORWARD -> new Roles(node.in(0), node.in(1), node.out(0), bias);
                case BACKWARD_DATA -> new Roles(node.out(0), node.in(1), node.in(0), bias);
                case BACKWARD_FILTER -> new Roles(node.in(0), node.out(0), node.in(1), 0);
            };
        }
    }

    /**
     * A node whose entry has {@value ConvAlgorithm#RELU_SUFFIX} (a Conv2d whose ReLU the plan fused into it) writes
     * the ReLU's output: its {@code out(0)} is that buffer ({@link CudaProgram}).
     */
    static ConvKernel convolution(CudaNode node) {
        ConvProblem p = ConvProblem.of(node.node());
        ConvAlgorithm requested = ConvAlgorithm.parse(node.algorithm());
        boolean relu = ConvAlgorithm.reluFused(node.algorithm());
        if (relu && p.pass() != ConvProblem.Pass.FORWARD)
            throw new IllegalArgumentException(node + ": a ReLU is fused only into a forward convolution, not a "
                    + p.pass() + " pass (entry '" + node.algorithm() + "')");
        Roles at = Roles.of(node, p);
        if (requested.kind() != ConvAlgorithm.Kind.DIRECT && node.device() instanceof CudaDevice gpu) {
            try {
                return cudnn(node, p, at, requested, relu, gpu);
            } catch (RuntimeException e) {
                notice(node + " runs the direct convolution kernel: " + e.getMessage());
            }
        }
        return new ConvKernel(ConvAlgorithm.DIRECT + (relu ? ConvAlgorithm.RELU_SUFFIX : ""), direct(node, p, at, relu));
    }

    /** "NVIDIA H100 80GB HBM3,cudnn 9.24.0" for the device the context drives. */
    static String machine(CudaContext ctx) {
        CudaStatus s = CudaLibraries.system();
        String gpu = ctx.device < s.devices().size() ? s.devices().get(ctx.device).name() : "device " + ctx.device;
        return ConvAlgorithm.machine(gpu, CudaStatus.cudnn(s.versions().cudnn()));
    }

    /** Releases the descriptors of cuDNN convolutions whose kernels became unreachable without being closed. */
    private static final Cleaner CLEANER = Cleaner.create();

    private static ConvKernel cudnn(CudaNode node, ConvProblem p, Roles at, ConvAlgorithm requested, boolean relu,
                                    CudaDevice gpu) {
        CudaContext ctx = gpu.context();
        long alignment = alignment(at.x(), at.w(), at.y(), at.bias());
        CudnnConv conv = CudnnConv.open(ctx.cudnnHandle, p, requested, relu, machine(ctx),
                CudnnEngines.Policy.fromSystemProperties(), alignment, CudaConvKernels::notice);
        CudnnWorkspace ws = CudnnWorkspace.of(node.device());
        ws.require(node.device(), conv.workspaceBytes);
        MemorySegment handle = ctx.cudnnHandle;
        Launch epilogue = epilogue(node, p, at, p.bias() && !conv.fusedBias(), relu && !conv.fusedRelu());
        String entry = conv.algorithm().entry() + (relu ? ConvAlgorithm.RELU_SUFFIX : "");
        return new ConvKernel(entry, ctx2 -> {
            conv.execute(handle, at.x(), at.w(), at.y(), at.bias(), ws.address());
            if (epilogue != null) epilogue.run();
        }).owning(conv);
    }

    /**
     * The pass after a convolution whose engine's graph did not apply them: + bias (when {@code bias}), then ReLU
     * (when {@code relu}), in place over the convolution's output (dx for a transposed one); null when neither.
     */
    static Launch epilogue(CudaNode node, ConvProblem p, Roles at, boolean bias, boolean relu) {
        if (!bias && !relu) return null;
        long[] out = p.outputDims();
        long channels = out[1], plane = out[2] * out[3], total = out[0] * channels * plane;
        long target = p.pass() == ConvProblem.Pass.FORWARD ? at.y() : at.x();
        // stride_conv_bias_act(float* y, const float* bias, int hasBias, long long channels, long long plane,
        //                      long long total, int relu); without a bias, y stands in for it (never read)
        return node.launch("stride_conv_bias_act", total, Arg.ptr(target), Arg.ptr(bias ? at.bias() : target),
                Arg.i32(bias ? 1 : 0), Arg.i64(channels), Arg.i64(plane), Arg.i64(total), Arg.i32(relu ? 1 : 0));
    }

    /** The largest power of two (up to 256) dividing every non-null pointer: what cuDNN may assume of them. */
    static long alignment(long... pointers) {
        long a = 256;
        for (long p : pointers) if (p != 0) a = Math.min(a, Long.lowestOneBit(p | 256));
        return a;
    }

    /** The direct kernels of conv.cu, one launch per run; {@code relu}: a forward pass applies its fused ReLU. */
    static CudaKernel direct(CudaNode node, ConvProblem p, Roles at, boolean relu) {
        long[] x = p.x(), w = p.w(), y = p.y();
        Arg[] geometry = {Arg.i64(x[0]), Arg.i64(x[1]), Arg.i64(x[2]), Arg.i64(x[3]), Arg.i64(w[0]), Arg.i64(y[2]),
                Arg.i64(y[3]), Arg.i64(w[2]), Arg.i64(w[3]), Arg.i64(p.strides()[0]), Arg.i64(p.strides()[1]),
                Arg.i64(p.prePadding()[0]), Arg.i64(p.prePadding()[1]), Arg.i64(p.dilations()[0]),
                Arg.i64(p.dilations()[1]), Arg.i64(p.groups())};
        // No null pointers in a launch: without a bias, the weight stands in for it (never read: hasBias = 0).
        Arg bias = Arg.ptr(at.bias() != 0 ? at.bias() : at.w()), hasBias = Arg.i32(at.bias() != 0 ? 1 : 0);
        Launch l = switch (p.pass()) {
            // stride_conv2d_forward(const float* x, const float* w, const float* bias, int hasBias, float* y,
            //                       long long N, C, H, W, O, Ho, Wo, kH, kW, sh, sw, pt, pl, dh, dw, groups, int relu)
            case FORWARD -> node.launch("stride_conv2d_forward", y[0] * y[1] * y[2] * y[3],
                    concat(new Arg[] {Arg.ptr(at.x()), Arg.ptr(at.w()), bias, hasBias, Arg.ptr(at.y())}, geometry,
                            Arg.i32(relu ? 1 : 0)));
            // stride_conv2d_backward_data(const float* dy, const float* w, const float* bias, int hasBias, float* dx,
            //                             long long N, C, H, W, O, Ho, Wo, kH, kW, sh, sw, pt, pl, dh, dw, groups)
            case BACKWARD_DATA -> node.launch("stride_conv2d_backward_data", x[0] * x[1] * x[2] * x[3],
                    concat(new Arg[] {Arg.ptr(at.y()), Arg.ptr(at.w()), bias, hasBias, Arg.ptr(at.x())}, geometry));
            // stride_conv2d_backward_filter(const float* x, const float* dy, float* dw, long long N, C, H, W, O, Ho,
            //                               Wo, kH, kW, sh, sw, pt, pl, dh, dw, groups)
            case BACKWARD_FILTER -> node.launch("stride_conv2d_backward_filter", w[0] * w[1] * w[2] * w[3],
                    concat(new Arg[] {Arg.ptr(at.x()), Arg.ptr(at.y()), Arg.ptr(at.w())}, geometry));
        };
        return ctx -> l.run();
    }

    private static Arg[] concat(Arg[] head, Arg[] tail, Arg... more) {
        Arg[] all = new Arg[head.length + tail.length + more.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(tail, 0, all, head.length, tail.length);
        System.arraycopy(more, 0, all, head.length + tail.length, more.length);
        return all;
    }

    /** Notices printed once per process each (a plan with many equal layers says it once). */
    private static final Set<String> NOTICED = ConcurrentHashMap.newKeySet();

    static void notice(String message) {
        if (NOTICED.add(message)) System.err.println("stride cuda: " + message);
    }

    /** The notices printed so far (tests). */
    static Set<String> noticed() { return Set.copyOf(NOTICED); }
}
