package dev.stride.zoo.generative;

import dev.stride.graph.ConvSpec;
import dev.stride.graph.GraphBuilder;
import dev.stride.graph.GraphException;
import dev.stride.graph.Init;
import dev.stride.graph.Shape;
import dev.stride.graph.Value;
import dev.stride.graph.op.Affine;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.BatchNorm2dInfer;
import dev.stride.graph.op.BatchNorm2dTrain;
import dev.stride.graph.op.Dense;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Layers whose parameters are created by the first call with a name and reused by every later call with it, so
 * that one graph can apply a network several times with one set of weights (the GAN discriminator on real and on
 * fake images). The builder's layer DSL cannot: a second {@code conv2d("c1", ...)} is a duplicate name.
 *
 * <p>Names are full names (no builder scope is consulted), and follow the layer DSL's: {@code <name>/weight},
 * {@code <name>/bias}, and for batch norm {@code <name>/weight}, {@code <name>/bias} (parameters) and
 * {@code <name>/running_mean}, {@code <name>/running_var} (state).
 *
 * <p>Batch norm in a training graph normalises with each application's own batch statistics. With {@code track}
 * the application also advances the running statistics as PyTorch does, running = (1 - m)*running + m*batch
 * (unbiased batch variance), chained through the tracked applications in call order exactly as that many PyTorch
 * forward passes would; {@link #finish} writes the result back once, since a graph updates each state tensor once.
 * An application without {@code track} leaves no running-statistics state in the graph at all.
 */
final class SharedLayers {
    static final double BN_EPS = 1e-5, BN_MOMENTUM = 0.1;

    private final GraphBuilder b;
    private final Map<String, Value> params = new HashMap<>();
    /** Running-statistics state tensor -> its value after the tracked applications so far. */
    private final Map<Value, Value> running = new LinkedHashMap<>();

    SharedLayers(GraphBuilder b) { this.b = b; }

    GraphBuilder builder() { return b; }

    Value param(String name, Shape shape, Init init) {
        Value v = params.get(name);
        if (v == null) {
            v = b.param(name, shape, init);
            params.put(name, v);
        } else if (!v.shape().equals(shape)) {
            throw new GraphException("shared parameter " + name + " is " + v.shape() + ", a later use asks for " + shape);
        }
        return v;
    }

    private Value state(String name, Shape shape, Init init) {
        Value v = params.get(name);
        if (v == null) {
            v = b.state(name, shape, init);
            params.put(name, v);
        }
        return v;
    }

    /** Square convolution, weight [out, C, k, k] initialised for the activation with leaky slope {@code slope}. */
    Value conv(String name, Value x, int out, int k, ConvSpec spec, double slope) {
        Value w = param(name + "/weight", Shape.of(out, x.shape().dim(1), k, k), Init.kaimingNormal(slope));
        Value bias = spec.hasBias() ? param(name + "/bias", Shape.of(out), Init.zeros()) : null;
        var op = spec.conv2d(x.shape().dim(2), x.shape().dim(3), k, k);
        return bias == null ? b.apply(name, op, x, w) : b.apply(name, op, x, w, bias);
    }

    /** Square transposed convolution, weight [C, out, k, k] (PyTorch layout). */
    Value convTranspose(String name, Value x, int out, int k, ConvSpec spec) {
        Value w = param(name + "/weight", Shape.of(x.shape().dim(1), out, k, k), Init.kaimingNormal());
        Value bias = spec.hasBias() ? param(name + "/bias", Shape.of(out), Init.zeros()) : null;
        var op = spec.convTranspose2d(x.shape().dim(2), x.shape().dim(3), k, k);
        return bias == null ? b.apply(name, op, x, w) : b.apply(name, op, x, w, bias);
    }

    /** x [N, K] -> [N, out] with weight [out, K] and bias [out]. */
    Value dense(String name, Value x, int out) {
        Value w = param(name + "/weight", Shape.of(out, x.shape().dim(1)), Init.kaimingNormal());
        Value bias = param(name + "/bias", Shape.of(out), Init.zeros());
        return b.apply(name, new Dense(), x, w, bias);
    }

    /** Batch norm of NCHW x; see the class comment for {@code track}. */
    Value batchNorm(String name, Value x, boolean track) {
        Shape c = Shape.of(x.shape().dim(1));
        Value gamma = param(name + "/weight", c, Init.ones());
        Value beta = param(name + "/bias", c, Init.zeros());
        if (!b.training()) {
            return b.apply(name, new BatchNorm2dInfer(BN_EPS), x, gamma, beta,
                    state(name + "/running_mean", c, Init.zeros()), state(name + "/running_var", c, Init.ones()));
        }
        List<Value> o = b.applyAll(name, new BatchNorm2dTrain(BN_EPS), x, gamma, beta);
        if (track) {
            long n = (long) x.shape().dim(0) * x.shape().dim(2) * x.shape().dim(3);
            if (n < 2)
                throw new GraphException("batch norm '" + name + "': tracking running statistics needs N*H*W > 1, got " + n);
            advance(state(name + "/running_mean", c, Init.zeros()), o.get(1), 1.0, name + "/running_mean");
            advance(state(name + "/running_var", c, Init.ones()), o.get(2), n / (n - 1.0), name + "/running_var");
        }
        return o.getFirst();
    }

    private void advance(Value state, Value batchStat, double unbias, String hint) {
        Value current = running.getOrDefault(state, state);
        Value next = b.apply(hint + "/next", new Binary(Binary.Kind.ADD),
                b.apply(hint + "/decay", new Affine(1 - BN_MOMENTUM, 0), current),
                b.apply(hint + "/batch", new Affine(BN_MOMENTUM * unbias, 0), batchStat));
        running.put(state, next);
    }

    /** Adds the running-statistics updates; call once, after the last application. */
    void finish() {
        running.forEach(b::update);
        running.clear();
    }
}
