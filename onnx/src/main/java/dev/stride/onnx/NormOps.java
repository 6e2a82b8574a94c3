package dev.stride.onnx;

import dev.stride.graph.Value;
import dev.stride.graph.op.Affine;
import dev.stride.graph.op.BatchNorm2dInfer;
import dev.stride.graph.op.BatchNorm2dTrain;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.InstanceNorm2d;
import dev.stride.graph.op.Lrn;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** BatchNormalization (every version, inference and training mode), InstanceNormalization and LRN. */
final class NormOps {
    private NormOps() {}

    static void register(Map<String, OpSpec> t) {
        t.put("BatchNormalization", new OpSpec(NormOps::batchNorm, OpSpec.StaticInputs.NONE));
        t.put("InstanceNormalization", new OpSpec(NormOps::instanceNorm, OpSpec.StaticInputs.NONE));
        t.put("LRN", new OpSpec(NormOps::lrn, OpSpec.StaticInputs.NONE));
    }

    /**
     * InstanceNorm2d on NCHW. Other ranks through a view with the same (n, c) planes: [N, C] as [N, C, 1, 1],
     * [N, C, L] as [N, C, L, 1], [N, C, D1, ..., Dk] as [N, C, D1*...*Dk-1, Dk]; the statistics of a plane do not
     * depend on how its elements are arranged, so the view is exact.
     */
    private static void instanceNorm(NodeContext c) {
        for (int i = 0; i < 3; i++) ElementwiseOps.requireFloat(c, i);
        double eps = c.attrFloat("epsilon", 1e-5);
        if (!(eps > 0)) throw c.unsupported("epsilon = %s: the IR's instance norm needs epsilon > 0", eps);
        Value x = c.value(0);
        int[] d = x.shape().dims();
        if (d.length < 2) throw c.invalid("input %s must be [N, C, ...]", Arrays.toString(d));
        for (int i = 1; i < 3; i++)
            if (!Arrays.equals(c.dims(i), new long[] {d[1]}))
                throw c.invalid("input %d ('%s') %s must have shape [C] = [%d]", i, c.inputName(i),
                        Arrays.toString(c.dims(i)), d[1]);
        int[] d4 = nchw(d);
        boolean view = d4 != d;
        Value y = c.apply(view ? "instancenorm" : null, new InstanceNorm2d(eps), Lowering.reshape(c, "input_4d", x, d4),
                c.value(1), c.value(2));
        c.output(0, view ? Lowering.reshapeOut(c, y, d) : y);
    }

    /** An NCHW view of [N, C, ...] keeping each (n, c) plane's elements in order; {@code d} itself at rank 4. */
    private static int[] nchw(int[] d) {
        return switch (d.length) {
            case 2 -> new int[] {d[0], d[1], 1, 1};
            case 3 -> new int[] {d[0], d[1], d[2], 1};
            case 4 -> d;
            default -> new int[] {d[0], d[1], Lowering.product(d, 2, d.length - 1), d[d.length - 1]};
        };
    }

    /**
     * LRN across channels: y = x / (bias + alpha/size * sum of x^2 over the window)^beta, the IR's Lrn exactly
     * (which takes rank >= 3; [N, C] runs as [N, C, 1]).
     */
    private static void lrn(NodeContext c) {
        ElementwiseOps.requireFloat(c, 0);
        if (!c.hasAttr("size")) throw c.invalid("attribute size is required");
        int size = c.attrInt32("size", 1);
        double alpha = c.attrFloat("alpha", 1e-4), beta = c.attrFloat("beta", 0.75), bias = c.attrFloat("bias", 1.0);
        if (size < 1) throw c.invalid("size = %d must be >= 1", size);
        if (!(alpha >= 0) || !(bias > 0))
            throw c.unsupported("alpha = %s, bias = %s: the IR's LRN needs alpha >= 0 and bias > 0 (a positive base "
                    + "for the power)", alpha, bias);
        Value x = c.value(0);
        int[] d = x.shape().dims();
        if (d.length < 2) throw c.invalid("input %s must be [N, C, ...]", Arrays.toString(d));
        boolean view = d.length == 2;
        Value y = c.apply(view ? "lrn" : null, new Lrn(size, alpha, beta, bias),
                Lowering.reshape(c, "input_3d", x, view ? new int[] {d[0], d[1], 1} : d));
        c.output(0, view ? Lowering.reshapeOut(c, y, d) : y);
    }

    /**
     * Inference: BatchNorm2dInfer. Training (training_mode = 1 from opset 14; is_test = 0 up to opset 6; the
     * optional statistics outputs asked for in opsets 7 to 13): BatchNorm2dTrain for Y and the batch statistics,
     * and ONNX's running statistics {@code running = input_running * momentum + batch * (1 - momentum)} with the
     * biased batch variance, from Affine and Add. Inputs of rank 2, 3 or 5+ go through an NCHW view.
     */
    private static void batchNorm(NodeContext c) {
        for (int i = 0; i < 5; i++) ElementwiseOps.requireFloat(c, i);
        c.ignore("consumed_inputs");
        double eps = c.attrFloat("epsilon", 1e-5);
        double momentum = c.attrFloat("momentum", 0.9);
        if (c.opset < 9 && c.attrInt("spatial", 1) == 0)
            throw c.unsupported("spatial = 0 (statistics per activation rather than per channel)");
        boolean training;
        if (c.opset >= 14) {
            training = c.attrInt("training_mode", 0) != 0;
            c.onlyOutputs(training ? 3 : 1, "the running statistics are outputs only in training mode");
        } else {
            boolean stats = c.wantsOutput(1) || c.wantsOutput(2);
            training = c.opset <= 6 ? c.attrInt("is_test", 0) == 0 : stats;
            c.onlyOutputs(3, "saved_mean / saved_var (the training-time saved statistics)");
        }
        if (!(eps > 0)) throw c.unsupported("epsilon = %s: the IR's batch norm needs epsilon > 0", eps);
        Value x = c.value(0);
        int[] d = x.shape().dims();
        if (d.length < 2) throw c.invalid("input %s must be [N, C, ...]", Arrays.toString(d));
        int[] d4 = switch (d.length) {
            case 2 -> new int[] {d[0], d[1], 1, 1};
            case 3 -> new int[] {d[0], d[1], d[2], 1};
            case 4 -> d;
            default -> new int[] {d[0], d[1], Lowering.product(d, 2, d.length - 1), d[d.length - 1]};
        };
        for (int i = 1; i < 5; i++)
            if (!Arrays.equals(c.dims(i), new long[] {d[1]}))
                throw c.invalid("input %d ('%s') %s must have shape [C] = [%d]", i, c.inputName(i),
                        Arrays.toString(c.dims(i)), d[1]);
        Value x4 = Lowering.reshape(c, "input_4d", x, d4);
        boolean view = d4 != d;
        Value scale = c.value(1), bias = c.value(2);
        if (!training) {
            Value y = c.apply(view ? "batchnorm" : null, new BatchNorm2dInfer(eps), x4, scale, bias, c.value(3), c.value(4));
            c.output(0, view ? Lowering.reshapeOut(c, y, d) : y);
            return;
        }
        List<Value> outs = c.applyAll("batchnorm", new BatchNorm2dTrain(eps), x4, scale, bias);
        c.output(0, view ? Lowering.reshapeOut(c, outs.get(0), d) : outs.get(0));
        for (int k = 1; k <= 2; k++) {
            if (!c.wantsOutput(k)) continue;
            Value old = c.imp.apply(c.outName(k) + "/momentum", new Affine(momentum, 0), c.value(k + 2));
            Value cur = c.imp.apply(c.outName(k) + "/batch", new Affine(1 - momentum, 0), outs.get(k));
            c.output(k, c.imp.apply(c.outName(k), new Binary(Binary.Kind.ADD), old, cur));
        }
    }
}
