package dev.stride.graph;

import dev.stride.graph.op.AdamUpdate;
import dev.stride.graph.op.RmsPropUpdate;
import dev.stride.graph.op.SgdUpdate;

import java.util.ArrayList;
import java.util.List;

/**
 * An optimizer as an update rule compiled into the training plan (see {@link TrainDsl#trainStep}): for each trained
 * parameter it names the state tensors it keeps, {@code <param>/<suffix>} initialised to zeros, and builds the
 * update of the parameter and of those states with ops. The learning rate is not part of the rule: it is a plan
 * input, so a {@link Schedule} needs no recompile. Hyperparameters are checked by the update ops when the graph is
 * built. The formulas are PyTorch's (torch.optim), so results can be compared step for step.
 */
public sealed interface Optimizer {
    /** Prefix of the update nodes ({@code <name>/<param>}) and of shared state ({@code <name>/t}). */
    String name();

    /** Suffixes of the state tensors each trained parameter gets, in the order {@link #update} takes them. */
    List<String> stateNames();

    /** Whether {@link #update} needs the step count t (1 on the first step), kept in the state {@code <name>/t}. */
    default boolean countsSteps() { return false; }

    /**
     * Builds one parameter's update: {@code states} are its state tensors in {@link #stateNames} order, {@code g}
     * its gradient, {@code lr} the scalar learning rate and {@code t} the scalar step count (null unless
     * {@link #countsSteps}). Returns p' followed by the new value of each state, in the same order.
     */
    List<Value> update(DslBase b, String node, Value p, List<Value> states, Value g, Value lr, Value t);

    /**
     * SGD with momentum, torch.optim.SGD with dampening 0 (see {@link SgdUpdate}). The velocity
     * {@code <param>/momentum} is kept even when momentum is 0, as {@link TrainDsl#sgdStep} always has.
     */
    record Sgd(double momentum, double weightDecay, boolean nesterov) implements Optimizer {
        /** Plain SGD: no momentum, no weight decay. */
        public Sgd() { this(0, 0, false); }

        @Override public String name() { return "sgd"; }

        @Override public List<String> stateNames() { return List.of("momentum"); }

        @Override public List<Value> update(DslBase b, String node, Value p, List<Value> states, Value g, Value lr, Value t) {
            return b.applyAll(node, new SgdUpdate(momentum, weightDecay, nesterov), p, states.getFirst(), g, lr);
        }
    }

    /**
     * Adam, torch.optim.Adam without amsgrad: weight decay is L2, added to the gradient before the moments
     * (see {@link AdamUpdate}). States {@code <param>/exp_avg} and {@code <param>/exp_avg_sq}.
     */
    record Adam(double beta1, double beta2, double eps, double weightDecay) implements Optimizer {
        /** PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, no weight decay. */
        public Adam() { this(0.9, 0.999, 1e-8, 0); }

        @Override public String name() { return "adam"; }

        @Override public List<String> stateNames() { return List.of("exp_avg", "exp_avg_sq"); }

        @Override public boolean countsSteps() { return true; }

        @Override public List<Value> update(DslBase b, String node, Value p, List<Value> states, Value g, Value lr, Value t) {
            return b.applyAll(node, new AdamUpdate(beta1, beta2, eps, weightDecay, false),
                    p, states.get(0), states.get(1), g, lr, t);
        }
    }

    /**
     * AdamW, torch.optim.AdamW: weight decay decoupled from the gradient, p *= 1 - lr*weightDecay before the Adam
     * step (see {@link AdamUpdate}). States as {@link Adam}.
     */
    record AdamW(double beta1, double beta2, double eps, double weightDecay) implements Optimizer {
        /** PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
        public AdamW() { this(0.9, 0.999, 1e-8, 0.01); }

        @Override public String name() { return "adamw"; }

        @Override public List<String> stateNames() { return List.of("exp_avg", "exp_avg_sq"); }

        @Override public boolean countsSteps() { return true; }

        @Override public List<Value> update(DslBase b, String node, Value p, List<Value> states, Value g, Value lr, Value t) {
            return b.applyAll(node, new AdamUpdate(beta1, beta2, eps, weightDecay, true),
                    p, states.get(0), states.get(1), g, lr, t);
        }
    }

    /**
     * RMSprop, torch.optim.RMSprop (see {@link RmsPropUpdate}). States {@code <param>/square_avg}, then
     * {@code <param>/momentum_buffer} only when momentum > 0 and {@code <param>/grad_avg} only when centered.
     */
    record RmsProp(double alpha, double eps, double momentum, double weightDecay, boolean centered) implements Optimizer {
        /** PyTorch's defaults: alpha 0.99, eps 1e-8, no momentum, no weight decay, not centered. */
        public RmsProp() { this(0.99, 1e-8, 0, 0, false); }

        /** Not centered. */
        public RmsProp(double alpha, double eps, double momentum, double weightDecay) {
            this(alpha, eps, momentum, weightDecay, false);
        }

        @Override public String name() { return "rmsprop"; }

        @Override public List<String> stateNames() {
            List<String> s = new ArrayList<>(List.of("square_avg"));
            if (momentum > 0) s.add("momentum_buffer");
            if (centered) s.add("grad_avg");
            return List.copyOf(s);
        }

        @Override public List<Value> update(DslBase b, String node, Value p, List<Value> states, Value g, Value lr, Value t) {
            List<Value> in = new ArrayList<>();
            in.add(p);
            in.addAll(states);
            in.add(g);
            in.add(lr);
            return b.applyAll(node, new RmsPropUpdate(alpha, eps, momentum, weightDecay, centered), in.toArray(Value[]::new));
        }
    }
}
