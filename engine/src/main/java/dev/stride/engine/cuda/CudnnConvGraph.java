package dev.stride.engine.cuda;

import dev.stride.cuda.cudnn.Cudnn;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * The cuDNN operation graph of one convolution node ({@link ConvProblem}): tensor descriptors for x, w and y (by
 * their roles in the forward convolution, float32, packed NCHW), the convolution descriptor (cross-correlation,
 * float32 compute, pre/post padding, filter strides, dilations) and the operation of the node's pass; for a
 * forward pass optionally fused with pointwise nodes: + bias ([1, O, 1, 1], broadcast by cuDNN), then ReLU, the
 * conv output flowing through virtual tensors.
 *
 * <p>Building and finalizing all of this needs libcudnn but no device, except the graph's handle: without one
 * ({@code handle} NULL) the graph is finalized without it, which is enough to check that cuDNN accepts the
 * geometry; heuristics and execution plans need the handle of a real device.
 */
final class CudnnConvGraph implements AutoCloseable {
    /** Variant-pack unique ids of the tensors Stride binds: the convolution's x, w, y, and the bias. */
    static final long X = 1, W = 2, Y = 3, BIAS = 4;
    /** Virtual intermediates of a fused forward graph. */
    private static final long CONV_OUT = 10, BIASED = 11;

    final ConvProblem problem;
    final boolean fusedBias, fusedRelu;
    /** The finalized CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR. */
    final CudnnDescriptor graph;
    private final List<CudnnDescriptor> owned;

    private CudnnConvGraph(ConvProblem problem, boolean fusedBias, boolean fusedRelu, CudnnDescriptor graph,
                           List<CudnnDescriptor> owned) {
        this.problem = problem;
        this.fusedBias = fusedBias;
        this.fusedRelu = fusedRelu;
        this.graph = graph;
        this.owned = owned;
    }

    /**
     * Builds and finalizes the graph. {@code fuseBias} and {@code fuseRelu} apply to forward passes only (the
     * bias is the node's input 2). {@code alignment}: the byte alignment every bound pointer has (cuDNN picks
     * vectorised engines by it). {@code handle}: the cudnnHandle_t, or NULL to check the graph without a device.
     */
    static CudnnConvGraph build(ConvProblem p, boolean fuseBias, boolean fuseRelu, long alignment,
                                MemorySegment handle) {
        if ((fuseBias || fuseRelu) && p.pass() != ConvProblem.Pass.FORWARD)
            throw new IllegalArgumentException("pointwise fusion is built for forward convolutions only, not " + p.pass());
        if (fuseBias && !p.bias()) throw new IllegalArgumentException("no bias input to fuse: " + p);
        if (fuseRelu && p.bias() && !fuseBias)
            throw new IllegalArgumentException("a ReLU fused after a convolution with a bias needs the bias in the graph: " + p);
        List<CudnnDescriptor> owned = new ArrayList<>();
        try {
            boolean fused = fuseBias || fuseRelu;
            CudnnDescriptor x = tensor(owned, X, p.x(), alignment, false);
            CudnnDescriptor w = tensor(owned, W, p.w(), alignment, false);
            CudnnDescriptor y = tensor(owned, fused ? CONV_OUT : Y, p.y(), alignment, fused);
            CudnnDescriptor conv = track(owned, CudnnDescriptor.create(Cudnn.CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR()))
                    .longs(Cudnn.CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS(), 2)
                    .enumerated(Cudnn.CUDNN_ATTR_CONVOLUTION_COMP_TYPE(), Cudnn.CUDNN_TYPE_DATA_TYPE(), Cudnn.CUDNN_DATA_FLOAT())
                    .enumerated(Cudnn.CUDNN_ATTR_CONVOLUTION_CONV_MODE(), Cudnn.CUDNN_TYPE_CONVOLUTION_MODE(),
                            Cudnn.CUDNN_CROSS_CORRELATION())
                    .longs(Cudnn.CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS(), p.prePadding())
                    .longs(Cudnn.CUDNN_ATTR_CONVOLUTION_POST_PADDINGS(), p.postPadding())
                    .longs(Cudnn.CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES(), p.strides())
                    .longs(Cudnn.CUDNN_ATTR_CONVOLUTION_DILATIONS(), p.dilations())
                    .finish();
            List<CudnnDescriptor> ops = new ArrayList<>();
            ops.add(convolution(owned, p.pass(), x, w, y, conv));
            if (fused) {
                CudnnDescriptor current = y;
                if (fuseBias) {
                    CudnnDescriptor b = tensor(owned, BIAS, p.biasDims(), alignment, false);
                    CudnnDescriptor out = fuseRelu ? tensor(owned, BIASED, p.y(), alignment, true)
                            : tensor(owned, Y, p.y(), alignment, false);
                    ops.add(pointwise(owned, Cudnn.CUDNN_POINTWISE_ADD(), current, b, out));
                    current = out;
                }
                if (fuseRelu) {
                    CudnnDescriptor out = tensor(owned, Y, p.y(), alignment, false);
                    ops.add(pointwise(owned, Cudnn.CUDNN_POINTWISE_RELU_FWD(), current, null, out));
                }
            }
            CudnnDescriptor g = track(owned, CudnnDescriptor.create(Cudnn.CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR()));
            if (handle != null && handle.address() != 0)
                g.pointers(Cudnn.CUDNN_ATTR_OPERATIONGRAPH_HANDLE(), Cudnn.CUDNN_TYPE_HANDLE(), handle);
            g.descriptors(Cudnn.CUDNN_ATTR_OPERATIONGRAPH_OPS(), ops.toArray(CudnnDescriptor[]::new)).finish();
            return new CudnnConvGraph(p, fuseBias, fuseRelu, g, owned);
        } catch (RuntimeException e) {
            closeAll(owned);
            throw e;
        }
    }

    private static CudnnDescriptor track(List<CudnnDescriptor> owned, CudnnDescriptor d) {
        owned.add(d);
        return d;
    }

    /** A float32 packed NCHW tensor; {@code virtual}: an intermediate of a fused graph, never in memory. */
    static CudnnDescriptor tensor(List<CudnnDescriptor> owned, long uid, long[] dims, long alignment, boolean virtual) {
        CudnnDescriptor t = track(owned, CudnnDescriptor.create(Cudnn.CUDNN_BACKEND_TENSOR_DESCRIPTOR()))
                .enumerated(Cudnn.CUDNN_ATTR_TENSOR_DATA_TYPE(), Cudnn.CUDNN_TYPE_DATA_TYPE(), Cudnn.CUDNN_DATA_FLOAT())
                .longs(Cudnn.CUDNN_ATTR_TENSOR_DIMENSIONS(), dims)
                .longs(Cudnn.CUDNN_ATTR_TENSOR_STRIDES(), ConvProblem.packedStrides(dims))
                .longs(Cudnn.CUDNN_ATTR_TENSOR_UNIQUE_ID(), uid)
                .longs(Cudnn.CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT(), alignment);
        if (virtual) t.bool(Cudnn.CUDNN_ATTR_TENSOR_IS_VIRTUAL(), true);
        return t.finish();
    }

    /** The operation of a pass: alpha 1, beta 0 (the output is overwritten). */
    private static CudnnDescriptor convolution(List<CudnnDescriptor> owned, ConvProblem.Pass pass, CudnnDescriptor x,
                                               CudnnDescriptor w, CudnnDescriptor y, CudnnDescriptor conv) {
        return switch (pass) {
            case FORWARD -> track(owned, CudnnDescriptor.create(Cudnn.CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR()))
                    .descriptors(Cudnn.CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X(), x)
                    .descriptors(Cudnn.CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W(), w)
                    .descriptors(Cudnn.CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y(), y)
                    .descriptors(Cudnn.CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC(), conv)
                    .floats(Cudnn.CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA(), 1f)
                    .floats(Cudnn.CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA(), 0f)
                    .finish();
            case BACKWARD_DATA -> track(owned, CudnnDescriptor.create(Cudnn.CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR()))
                    .descriptors(Cudnn.CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX(), x)
                    .descriptors(Cudnn.CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W(), w)
                    .descriptors(Cudnn.CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY(), y)
                    .descriptors(Cudnn.CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC(), conv)
                    .floats(Cudnn.CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA(), 1f)
                    .floats(Cudnn.CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA(), 0f)
                    .finish();
            case BACKWARD_FILTER -> track(owned, CudnnDescriptor.create(Cudnn.CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR()))
                    .descriptors(Cudnn.CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X(), x)
                    .descriptors(Cudnn.CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW(), w)
                    .descriptors(Cudnn.CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY(), y)
                    .descriptors(Cudnn.CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC(), conv)
                    .floats(Cudnn.CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA(), 1f)
                    .floats(Cudnn.CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA(), 0f)
                    .finish();
        };
    }

    /** A pointwise operation y = mode(x[, b]) in float32. */
    private static CudnnDescriptor pointwise(List<CudnnDescriptor> owned, int mode, CudnnDescriptor x,
                                             CudnnDescriptor b, CudnnDescriptor y) {
        CudnnDescriptor pw = track(owned, CudnnDescriptor.create(Cudnn.CUDNN_BACKEND_POINTWISE_DESCRIPTOR()))
                .enumerated(Cudnn.CUDNN_ATTR_POINTWISE_MODE(), Cudnn.CUDNN_TYPE_POINTWISE_MODE(), mode)
                .enumerated(Cudnn.CUDNN_ATTR_POINTWISE_MATH_PREC(), Cudnn.CUDNN_TYPE_DATA_TYPE(), Cudnn.CUDNN_DATA_FLOAT())
                .finish();
        CudnnDescriptor op = track(owned, CudnnDescriptor.create(Cudnn.CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR()))
                .descriptors(Cudnn.CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR(), pw)
                .descriptors(Cudnn.CUDNN_ATTR_OPERATION_POINTWISE_XDESC(), x)
                .descriptors(Cudnn.CUDNN_ATTR_OPERATION_POINTWISE_YDESC(), y);
        if (b != null) op.descriptors(Cudnn.CUDNN_ATTR_OPERATION_POINTWISE_BDESC(), b);
        return op.finish();
    }

    /** Keeps {@code d} alive as long as the graph (engines and knob choices made for it); closed with it. */
    CudnnDescriptor own(CudnnDescriptor d) {
        owned.add(d);
        return d;
    }

    /** The unique ids the variant pack binds, in this order: x, w, y, then the bias when fused. */
    long[] uids() { return fusedBias ? new long[] {X, W, Y, BIAS} : new long[] {X, W, Y}; }

    private static void closeAll(List<CudnnDescriptor> owned) {
        // Dependents first: the graph references the operations, which reference the tensors.
        for (int i = owned.size() - 1; i >= 0; i--) owned.get(i).close();
    }

    @Override public void close() { closeAll(owned); }
}
