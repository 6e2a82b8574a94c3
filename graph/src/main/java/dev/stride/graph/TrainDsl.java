package dev.stride.graph;

import dev.stride.graph.op.Affine;
import dev.stride.graph.op.BatchNorm2dInfer;
import dev.stride.graph.op.BatchNorm2dTrain;
import dev.stride.graph.op.BceWithLogits;
import dev.stride.graph.op.Binary;
import dev.stride.graph.op.Dropout;
import dev.stride.graph.op.GaussianKl;
import dev.stride.graph.op.GaussianNoise;
import dev.stride.graph.op.GlobalNormScale;
import dev.stride.graph.op.InstanceNorm2d;
import dev.stride.graph.op.L1Loss;
import dev.stride.graph.op.MseLoss;
import dev.stride.graph.op.Reparameterize;
import dev.stride.graph.op.SgdUpdate;
import dev.stride.graph.op.SoftmaxCrossEntropy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Builder DSL for training: batch and instance norm, dropout, noise, losses and the optimizer step, so that a whole
 * training step (forward, backward, optimizer, running statistics) is one graph and one plan. See {@link DslBase}.
 */
public interface TrainDsl extends DslBase {
    /** {@link #batchNorm2d(String, Value, double, double)} with PyTorch's defaults eps = 1e-5, momentum = 0.1. */
    default Value batchNorm2d(String name, Value x) { return batchNorm2d(name, x, 1e-5, 0.1); }

    /**
     * Batch normalisation of NCHW {@code x} with parameters {@code name/weight} (ones) and {@code name/bias}
     * (zeros) and state {@code name/running_mean} (zeros) and {@code name/running_var} (ones). A training graph
     * normalises with the batch statistics and updates the running ones as PyTorch does,
     * running = (1 - momentum)*running + momentum*batch, the variance taken unbiased (var*n/(n-1), n = N*H*W);
     * an inference graph normalises with the running statistics.
     */
    default Value batchNorm2d(String name, Value x, double eps, double momentum) {
        if (x.shape().rank() != 4)
            throw new GraphException("batchNorm2d '" + name + "': input " + x.name() + " must be NCHW (rank 4), got "
                    + x.shape());
        if (!(momentum >= 0 && momentum <= 1))
            throw new GraphException("batchNorm2d '" + name + "': momentum must be in [0, 1], got " + momentum);
        Shape c = Shape.of(x.shape().dim(1));
        Value gamma = param(name + "/weight", c, Init.ones());
        Value beta = param(name + "/bias", c, Init.zeros());
        Value runningMean = state(name + "/running_mean", c, Init.zeros());
        Value runningVar = state(name + "/running_var", c, Init.ones());
        if (!training()) return apply(name, new BatchNorm2dInfer(eps), x, gamma, beta, runningMean, runningVar);

        long n = (long) x.shape().dim(0) * x.shape().dim(2) * x.shape().dim(3);
        if (n < 2)
            throw new GraphException("batchNorm2d '" + name + "': training needs more than one value per channel "
                    + "(N*H*W = " + n + ") for the unbiased running variance");
        List<Value> o = applyAll(name, new BatchNorm2dTrain(eps), x, gamma, beta);
        Value mean = apply(name + "/new_running_mean", new Binary(Binary.Kind.ADD),
                apply(name + "/decay_mean", new Affine(1 - momentum, 0), runningMean),
                apply(name + "/batch_mean", new Affine(momentum, 0), o.get(1)));
        Value var = apply(name + "/new_running_var", new Binary(Binary.Kind.ADD),
                apply(name + "/decay_var", new Affine(1 - momentum, 0), runningVar),
                apply(name + "/batch_var", new Affine(momentum * n / (n - 1.0), 0), o.get(2)));
        update(runningMean, mean);
        update(runningVar, var);
        return o.getFirst();
    }

    /**
     * Instance normalisation of NCHW {@code x} (ONNX InstanceNormalization; PyTorch InstanceNorm2d with
     * affine = true and no running statistics) with parameters {@code name/weight} (ones) and {@code name/bias}
     * (zeros). It normalises with each plane's own statistics in training and inference graphs alike.
     */
    default Value instanceNorm2d(String name, Value x, double eps) {
        if (x.shape().rank() != 4)
            throw new GraphException("instanceNorm2d '" + name + "': input " + x.name() + " must be NCHW (rank 4), got "
                    + x.shape());
        Shape c = Shape.of(x.shape().dim(1));
        return apply(name, new InstanceNorm2d(eps), x, param(name + "/weight", c, Init.ones()),
                param(name + "/bias", c, Init.zeros()));
    }

    /** Instance normalisation with a given scale[C] and bias[C]. */
    default Value instanceNorm2d(Value x, Value scale, Value bias, double eps) {
        return apply("instance_norm", new InstanceNorm2d(eps), x, scale, bias);
    }

    /** Inverted dropout with drop probability {@code p} in [0, 1); the identity in inference graphs or when p == 0. */
    default Value dropout(Value x, double p) {
        if (!(p >= 0 && p < 1)) throw new GraphException("dropout probability p must be in [0, 1), got " + p);
        if (!training() || p == 0) return x;
        return applyAll("dropout", new Dropout(p, nextSeed()), x).getFirst();
    }

    /** Fresh N(0, 1) samples of shape {@code dims} on every run. */
    default Value gaussianNoise(int... dims) {
        return apply("gaussian_noise", new GaussianNoise(dims.clone(), nextSeed()));
    }

    /**
     * z = mu + exp(logvar/2)*eps with eps ~ N(0, 1) fresh per run, differentiable in mu and logvar (the VAE
     * reparameterisation trick). It samples in inference graphs too; use {@code mu} for a deterministic code.
     */
    default Value reparameterize(Value mu, Value logvar) {
        return applyAll("reparameterize", new Reparameterize(nextSeed()), mu, logvar).getFirst();
    }

    /** Mean over the batch of -log softmax(logits[n])[labels[n]]; logits [N,C], labels [N] as float class indices. */
    default Value softmaxCrossEntropy(Value logits, Value labels) {
        return apply("softmax_cross_entropy", new SoftmaxCrossEntropy(), logits, labels);
    }

    /** Mean binary cross-entropy of sigmoid(logits) against targets of the same shape. */
    default Value bceWithLogits(Value logits, Value targets) {
        return apply("bce_with_logits", new BceWithLogits(), logits, targets);
    }

    /** mean((a - b)^2) over every element. */
    default Value mseLoss(Value a, Value b) { return apply("mse_loss", new MseLoss(), a, b); }

    /** mean(|a - b|) over every element. */
    default Value l1Loss(Value a, Value b) { return apply("l1_loss", new L1Loss(), a, b); }

    /** KL(N(mu, exp(logvar)) || N(0, I)) summed over latent dimensions, averaged over the batch (dimension 0). */
    default Value gaussianKl(Value mu, Value logvar) { return apply("gaussian_kl", new GaussianKl(), mu, logvar); }

    /** {@link #sgdStep(Value, double, double, boolean, Predicate)} without weight decay, Nesterov or frozen params. */
    default Value sgdStep(Value loss, double momentum) { return sgdStep(loss, momentum, 0, false, name -> false); }

    /**
     * Adds the backward pass of scalar {@code loss} and an SGD-with-momentum update (PyTorch's convention, see
     * {@link SgdUpdate}) of every parameter whose full name {@code frozen} rejects and that the loss depends on,
     * each with a velocity state {@code <param>/momentum} (zeros). Returns the new scalar graph input {@code lr}
     * (named under the current scope, so call this outside any scope to get plain "lr"): the learning rate is fed
     * on every run, so a schedule needs no recompile. The same as {@link #trainStep} with {@link Optimizer.Sgd}.
     */
    default Value sgdStep(Value loss, double momentum, double weightDecay, boolean nesterov, Predicate<String> frozen) {
        return trainStep(loss, TrainSpec.of(new Optimizer.Sgd(momentum, weightDecay, nesterov)).withFrozen(frozen));
    }

    /**
     * Adds the backward pass of scalar {@code loss} and the optimizer's update of every parameter that
     * {@code spec} does not freeze and that the loss depends on (as PyTorch, a parameter without a gradient is left
     * alone), so that one run of the plan is one training step. Each updated parameter gets the optimizer's state
     * tensors {@code <param>/<state>} (zeros); an optimizer that counts steps shares one scalar state
     * {@code <optimizer>/t}, incremented by every run and saved with the plan, so a resumed plan continues its
     * bias corrections (exact up to 2^24 steps in an F32 graph).
     *
     * <p>With {@code spec.clipNorm() > 0} every gradient is first multiplied by
     * {@link GlobalNormScale min(1, clipNorm/(norm + 1e-6))}, norm the global norm of all of them (before any
     * weight decay, as clip_grad_norm_ before optimizer.step()). A parameter in a group trains with
     * {@code multiplier * lr}.
     *
     * <p>Returns the new scalar graph input {@code lr} (named under the current scope).
     */
    default Value trainStep(Value loss, TrainSpec spec) {
        GraphBuilder b = (GraphBuilder) this;
        Optimizer opt = spec.optimizer();
        Value lr = b.input("lr");
        List<Value> trained = b.params().stream().filter(p -> !spec.frozen().test(p.name())).toList();
        Map<Value, Value> grads = new LinkedHashMap<>(Autodiff.gradients(b, loss, trained));  // in trained order
        if (grads.isEmpty()) return lr;
        if (spec.clipNorm() > 0) {
            Value scale = b.apply("clip/scale", new GlobalNormScale(spec.clipNorm()), grads.values().toArray(Value[]::new));
            grads.replaceAll((p, g) -> b.apply("clip/" + p.name(), new Binary(Binary.Kind.MUL), g, scale));
        }
        Value t = null;
        if (opt.countsSteps()) {
            Value count = b.state(opt.name() + "/t", Shape.SCALAR, Init.zeros());
            t = b.apply(opt.name() + "/t_next", new Affine(1, 1), count);     // this step's t, 1 on the first run
            b.update(count, t);
        }
        Map<Integer, Value> groupLr = new HashMap<>();      // one scaled lr per group, shared by its parameters
        for (var e : grads.entrySet()) {
            Value p = e.getKey();
            int group = spec.groupOf(p.name());
            double multiplier = spec.lrMultiplier(p.name());
            Value plr = multiplier == 1 ? lr : groupLr.computeIfAbsent(group,
                    i -> b.apply("lr/group" + i, new Affine(multiplier, 0), lr));
            List<Value> states = new ArrayList<>();
            for (String s : opt.stateNames()) states.add(b.state(p.name() + "/" + s, p.shape(), Init.zeros()));
            List<Value> o = opt.update(b, opt.name() + "/" + p.name(), p, states, e.getValue(), plr, t);
            b.update(p, o.getFirst());
            for (int i = 0; i < states.size(); i++) b.update(states.get(i), o.get(i + 1));
        }
        return lr;
    }
}
