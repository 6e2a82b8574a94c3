package dev.stride.graph;

/**
 * A learning-rate schedule: the learning rate of step {@code step} (0 for the first step). Training plans take the
 * learning rate as the scalar input "lr" (see {@link TrainDsl#trainStep}), so a schedule is a host-side function
 * evaluated before every run and changing it needs no recompile:
 * <pre>{@code
 * for (long step = 0; step < total; step++) feeds.put("lr", Tensor.scalar(dtype, schedule.lr(step)));
 * }</pre>
 * Arguments are checked when a schedule is made; {@link #lr} refuses negative steps.
 */
public interface Schedule {
    double lr(long step);

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }

    private static void requireStep(long step) {
        require(step >= 0, "step must be >= 0, got " + step);
    }

    private static void requirePositive(String what, double v) {
        require(v > 0 && Double.isFinite(v), what + " must be finite and > 0, got " + v);
    }

    /** {@code base * gamma^floor(step / stepSize)}: torch.optim.lr_scheduler.StepLR. */
    record StepDecay(double base, long stepSize, double gamma) implements Schedule {
        public StepDecay {
            requirePositive("base learning rate", base);
            require(stepSize >= 1, "stepSize must be >= 1, got " + stepSize);
            require(gamma > 0 && gamma <= 1, "gamma must be in (0, 1], got " + gamma);
        }

        @Override public double lr(long step) {
            requireStep(step);
            return base * Math.pow(gamma, step / stepSize);
        }
    }

    /** {@code base * gamma^step}: torch.optim.lr_scheduler.ExponentialLR. */
    record Exponential(double base, double gamma) implements Schedule {
        public Exponential {
            requirePositive("base learning rate", base);
            require(gamma > 0 && gamma <= 1, "gamma must be in (0, 1], got " + gamma);
        }

        @Override public double lr(long step) {
            requireStep(step);
            return base * Math.pow(gamma, step);
        }
    }

    /**
     * Linear warm-up from 0 to {@code base} over {@code warmupSteps} (step s < warmupSteps gets base*s/warmupSteps),
     * then half a cosine from {@code base} down to {@code minLr} at {@code totalSteps}:
     * minLr + (base - minLr)*(1 + cos(pi*(s - warmupSteps)/(totalSteps - warmupSteps)))/2; minLr after that.
     */
    record CosineWarmup(double base, long warmupSteps, long totalSteps, double minLr) implements Schedule {
        public CosineWarmup {
            requirePositive("base learning rate", base);
            require(minLr >= 0 && minLr <= base, "minLr must be in [0, base] = [0, " + base + "], got " + minLr);
            require(warmupSteps >= 0, "warmupSteps must be >= 0, got " + warmupSteps);
            require(totalSteps > warmupSteps,
                    "totalSteps must be > warmupSteps, got totalSteps " + totalSteps + " and warmupSteps " + warmupSteps);
        }

        @Override public double lr(long step) {
            requireStep(step);
            if (step < warmupSteps) return base * step / warmupSteps;
            if (step >= totalSteps) return minLr;
            double progress = (double) (step - warmupSteps) / (totalSteps - warmupSteps);
            return minLr + (base - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
        }
    }

    /**
     * The one-cycle policy as torch.optim.lr_scheduler.OneCycleLR computes it (two phases, cosine annealing): from
     * maxLr/divFactor up to maxLr over the first pctStart*totalSteps - 1 steps, then down to
     * maxLr/(divFactor*finalDivFactor) at step totalSteps - 1, each phase annealed as
     * end + (start - end)*(1 + cos(pi*pct))/2 with pct the fraction of the phase done. Defined for steps
     * 0..totalSteps - 1.
     */
    record OneCycle(double maxLr, long totalSteps, double pctStart, double divFactor, double finalDivFactor)
            implements Schedule {
        public OneCycle {
            requirePositive("maxLr", maxLr);
            require(totalSteps >= 2, "totalSteps must be >= 2, got " + totalSteps);
            require(pctStart > 0 && pctStart < 1, "pctStart must be in (0, 1), got " + pctStart);
            // The warm-up phase ends at step pctStart*totalSteps - 1, which must come after step 0.
            require(pctStart * totalSteps > 1, "the warm-up phase must end after step 0: pctStart*totalSteps - 1 = "
                    + pctStart + "*" + totalSteps + " - 1 = " + (pctStart * totalSteps - 1) + ", must be > 0");
            requirePositive("divFactor", divFactor);
            requirePositive("finalDivFactor", finalDivFactor);
        }

        /** PyTorch's defaults: pctStart 0.3, divFactor 25, finalDivFactor 1e4. */
        public OneCycle(double maxLr, long totalSteps) { this(maxLr, totalSteps, 0.3, 25, 1e4); }

        public double initialLr() { return maxLr / divFactor; }

        public double finalLr() { return initialLr() / finalDivFactor; }

        /** The (fractional) step at which the learning rate peaks at maxLr. */
        public double peakStep() { return pctStart * totalSteps - 1; }

        @Override public double lr(long step) {
            requireStep(step);
            require(step < totalSteps, "step " + step + " is past the cycle of totalSteps = " + totalSteps
                    + " (steps 0.." + (totalSteps - 1) + ")");
            double peak = peakStep();
            if (step <= peak) return anneal(initialLr(), maxLr, step / peak);
            return anneal(maxLr, finalLr(), (step - peak) / (totalSteps - 1 - peak));
        }

        private static double anneal(double start, double end, double pct) {
            return end + (start - end) / 2 * (Math.cos(Math.PI * pct) + 1);
        }
    }
}
