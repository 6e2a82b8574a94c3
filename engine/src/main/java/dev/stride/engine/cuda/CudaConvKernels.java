package dev.stride.engine.cuda;

import dev.stride.cuda.CudaLibraries;
import dev.stride.cuda.CudaStatus;
import dev.stride.engine.RunContext;
import dev.stride.graph.op.BatchNorm2dInfer;
import dev.stride.graph.op.Conv2d;
import dev.stride.graph.op.Conv2dBackwardData;
import dev.stride.graph.op.Conv2dBackwardFilter;
import dev.stride.graph.op.ConvTranspose2d;

import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.util.Arrays;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The convolution family's cuda kernels: Conv2d, Conv2dBackwardData, ConvTranspose2d (the data pass of its adjoint
 * convolution, plus its bias) and Conv2dBackwardFilter. (A convolution's bias gradient, BiasGrad, is the
 * element-wise family's.)
 *
 * <p>A convolution node runs on cuDNN on a GPU ({@link CudnnConv}: the graph API, engine by the plan's
 * {@link ConvAlgorithm} entry or cuDNN's heuristics, a session-wide workspace, a bias added by
 * {@code stride_conv_epilogue} unless the engine's graph adds it), and the direct kernels of conv.cu on the
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
     * A node whose entry names followers ({@link ConvAlgorithm#followers}: a Conv2d into which the plan fused a batch
     * norm in inference mode and/or a ReLU) writes the last follower's output: its {@code out(0)} is that buffer
     * ({@link CudaProgram}). A fused batch norm's coefficients are computed from its running statistics on every run
     * (they are persistent values a program may change between runs), into scratch of the node.
     */
    static ConvKernel convolution(CudaNode node) {
        ConvProblem p = ConvProblem.of(node.node());
        ConvAlgorithm requested = ConvAlgorithm.parse(node.algorithm());
        ConvAlgorithm.Followers f = ConvAlgorithm.followers(node.algorithm());
        if (f.any() && p.pass() != ConvProblem.Pass.FORWARD)
            throw new IllegalArgumentException(node + ": a batch norm or ReLU is fused only into a forward convolution,"
                    + " not a " + p.pass() + " pass (entry '" + node.algorithm() + "')");
        Roles at = Roles.of(node, p);
        long coef = f.bn() ? node.scratch(16L * p.outputDims()[1]) : 0;
        Launch coefficients = f.bn() ? bnCoefficients(node, p, coef) : null;
        if (requested.kind() != ConvAlgorithm.Kind.DIRECT && node.device() instanceof CudaDevice gpu) {
            try {
                return cudnn(node, p, at, requested, f, coefficients, coef, gpu);
            } catch (RuntimeException e) {
                notice(node + " runs the direct convolution kernel: " + e.getMessage());
            }
        }
        Launch conv = direct(node, p, at, f.relu() && !f.bn());
        Launch after = f.bn() ? epilogue(node, p, at, false, coef, f.relu()) : null;
        return new ConvKernel(ConvAlgorithm.DIRECT + f.suffix(), sequence(coefficients, conv, after));
    }

    /** The enqueued launches in order, nulls skipped. */
    private static CudaKernel sequence(Launch... launches) {
        Launch[] present = Arrays.stream(launches).filter(Objects::nonNull).toArray(Launch[]::new);
        return ctx -> {
            for (Launch l : present) l.run();
        };
    }

    /** The fused batch norm's (scale, shift) per channel, in double, from its parameters and running statistics. */
    private static Launch bnCoefficients(CudaNode node, ConvProblem p, long coef) {
        BatchNorm2dInfer bn = (BatchNorm2dInfer) node.fused().getFirst().op();
        long channels = p.outputDims()[1];
        // stride_bn_infer_coef(const float* gamma, const float* beta, const float* rmean, const float* rvar,
        //                      double* coef, long long c, double eps)
        return node.launch("stride_bn_infer_coef", channels, Arg.ptr(node.fusedIn(0, 1)), Arg.ptr(node.fusedIn(0, 2)),
                Arg.ptr(node.fusedIn(0, 3)), Arg.ptr(node.fusedIn(0, 4)), Arg.ptr(coef), Arg.i64(channels),
                Arg.f64(bn.eps()));
    }

    /** "NVIDIA H100 80GB HBM3,cudnn 9.24.0" for the device the context drives. */
    static String machine(CudaContext ctx) {
        CudaStatus s = CudaLibraries.system();
        String gpu = ctx.device < s.devices().size() ? s.devices().get(ctx.device).name() : "device " + ctx.device;
        return ConvAlgorithm.machine(gpu, CudaStatus.cudnn(s.versions().cudnn()));
    }

    /** Releases the descriptors of cuDNN convolutions whose kernels became unreachable without being closed. */
    private static final Cleaner CLEANER = Cleaner.create();

    /**
     * On cuDNN: the engine's graph may add the bias and, when no batch norm comes between, apply the ReLU; what it
     * does not, and a batch norm always, the epilogue pass applies.
     */
    private static ConvKernel cudnn(CudaNode node, ConvProblem p, Roles at, ConvAlgorithm requested,
                                    ConvAlgorithm.Followers f, Launch coefficients, long coef, CudaDevice gpu) {
        CudaContext ctx = gpu.context();
        long alignment = alignment(at.x(), at.w(), at.y(), at.bias());
        boolean reluInGraph = f.relu() && !f.bn();
        CudnnConv conv = CudnnConv.open(ctx.cudnnHandle, p, requested, reluInGraph, machine(ctx),
                CudnnEngines.Policy.fromSystemProperties(), alignment, CudaConvKernels::notice);
        CudnnWorkspace ws;
        Launch after;
        try {
            ws = CudnnWorkspace.of(node.device());
            ws.require(node.device(), conv.workspaceBytes);
            after = epilogue(node, p, at, p.bias() && !conv.fusedBias(), coef, f.relu() && !conv.fusedRelu());
        } catch (RuntimeException e) {
            conv.close();
            throw e;
        }
        MemorySegment handle = ctx.cudnnHandle;
        return new ConvKernel(conv.algorithm().entry() + f.suffix(), ctx2 -> {
            if (coefficients != null) coefficients.run();
            conv.execute(handle, at.x(), at.w(), at.y(), at.bias(), ws.address());
            if (after != null) after.run();
        }).owning(conv);
    }

    /**
     * The pass after the convolution, in place over its output (dx for a transposed one): + bias (when
     * {@code bias}), then the batch norm whose coefficients are at {@code coef} (when not 0), then ReLU (when
     * {@code relu}); null when none of them.
     */
    static Launch epilogue(CudaNode node, ConvProblem p, Roles at, boolean bias, long coef, boolean relu) {
        if (!bias && coef == 0 && !relu) return null;
        long[] out = p.outputDims();
        long channels = out[1], plane = out[2] * out[3], total = out[0] * channels * plane;
        long target = p.pass() == ConvProblem.Pass.FORWARD ? at.y() : at.x();
        // stride_conv_epilogue(float* y, const float* bias, int hasBias, const double* coef, int hasBn,
        //                      long long channels, long long plane, long long total, int relu);
        // y stands in for an absent bias or coef (never read)
        return node.launch("stride_conv_epilogue", total, Arg.ptr(target), Arg.ptr(bias ? at.bias() : target),
                Arg.i32(bias ? 1 : 0), Arg.ptr(coef != 0 ? coef : target), Arg.i32(coef != 0 ? 1 : 0),
                Arg.i64(channels), Arg.i64(plane), Arg.i64(total), Arg.i32(relu ? 1 : 0));
    }

    /** The largest power of two (up to 256) dividing every non-null pointer: what cuDNN may assume of them. */
    static long alignment(long... pointers) {
        long a = 256;
        for (long p : pointers) if (p != 0) a = Math.min(a, Long.lowestOneBit(p | 256));
        return a;
    }

    /** The direct kernel of the node's pass (conv.cu); {@code relu}: a forward pass applies a ReLU as it writes. */
    static Launch direct(CudaNode node, ConvProblem p, Roles at, boolean relu) {
        long[] x = p.x(), w = p.w(), y = p.y();
        Arg[] geometry = {Arg.i64(x[0]), Arg.i64(x[1]), Arg.i64(x[2]), Arg.i64(x[3]), Arg.i64(w[0]), Arg.i64(y[2]),
                Arg.i64(y[3]), Arg.i64(w[2]), Arg.i64(w[3]), Arg.i64(p.strides()[0]), Arg.i64(p.strides()[1]),
                Arg.i64(p.prePadding()[0]), Arg.i64(p.prePadding()[1]), Arg.i64(p.dilations()[0]),
                Arg.i64(p.dilations()[1]), Arg.i64(p.groups())};
        // No null pointers in a launch: without a bias, the weight stands in for it (never read: hasBias = 0).
        Arg bias = Arg.ptr(at.bias() != 0 ? at.bias() : at.w()), hasBias = Arg.i32(at.bias() != 0 ? 1 : 0);
        return switch (p.pass()) {
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
