package dev.stride.graph;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * What {@link TrainDsl#trainStep} compiles into the plan: the {@link Optimizer}, the parameters left {@code frozen}
 * (by full name: they get no gradient, no update and no optimizer state), learning-rate multipliers per parameter
 * group (the first group whose matcher accepts a parameter's name sets its multiplier; 1 when none does), and
 * gradient clipping by global norm ({@code clipNorm > 0}; 0 or less means none).
 *
 * <pre>{@code
 * TrainSpec.of(new Optimizer.AdamW()).withFrozen(n -> n.startsWith("stem/"))
 *         .withGroup(n -> n.startsWith("head/"), 10).withClipNorm(1.0)
 * }</pre>
 */
public record TrainSpec(Optimizer optimizer, Predicate<String> frozen, List<LrGroup> groups, double clipNorm) {
    /** Parameters whose full name {@code matcher} accepts train with learning rate {@code multiplier * lr}. */
    public record LrGroup(Predicate<String> matcher, double multiplier) {
        public LrGroup {
            Objects.requireNonNull(matcher, "matcher");
            if (!(multiplier >= 0 && Double.isFinite(multiplier)))
                throw new IllegalArgumentException("learning-rate multiplier must be finite and >= 0, got " + multiplier);
        }
    }

    public TrainSpec {
        Objects.requireNonNull(optimizer, "optimizer");
        Objects.requireNonNull(frozen, "frozen");
        groups = List.copyOf(groups);
        if (Double.isNaN(clipNorm) || clipNorm == Double.POSITIVE_INFINITY)
            throw new IllegalArgumentException("clipNorm must be finite (<= 0 for no clipping), got " + clipNorm);
    }

    /** Every parameter trained at the plain learning rate, no clipping. */
    public static TrainSpec of(Optimizer optimizer) { return new TrainSpec(optimizer, name -> false, List.of(), 0); }

    public TrainSpec withOptimizer(Optimizer o) { return new TrainSpec(o, frozen, groups, clipNorm); }

    public TrainSpec withFrozen(Predicate<String> f) { return new TrainSpec(optimizer, f, groups, clipNorm); }

    public TrainSpec withGroups(List<LrGroup> g) { return new TrainSpec(optimizer, frozen, g, clipNorm); }

    /** Appends a group: it applies only to parameters that no earlier group matches. */
    public TrainSpec withGroup(Predicate<String> matcher, double multiplier) {
        List<LrGroup> g = new ArrayList<>(groups);
        g.add(new LrGroup(matcher, multiplier));
        return withGroups(g);
    }

    public TrainSpec withClipNorm(double maxNorm) { return new TrainSpec(optimizer, frozen, groups, maxNorm); }

    /** Index of the first group matching {@code param}, or -1 when none does. */
    public int groupOf(String param) {
        for (int i = 0; i < groups.size(); i++) if (groups.get(i).matcher().test(param)) return i;
        return -1;
    }

    /** The learning-rate multiplier of {@code param}: its first matching group's, else 1. */
    public double lrMultiplier(String param) {
        int i = groupOf(param);
        return i < 0 ? 1 : groups.get(i).multiplier();
    }
}
