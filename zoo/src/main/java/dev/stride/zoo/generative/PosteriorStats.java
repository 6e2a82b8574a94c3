package dev.stride.zoo.generative;

/**
 * How a VAE's encoder uses its latent space over a set of images x, per latent dimension d: the mean and the
 * (population) variance over x of mu_d(x), and the mean over x of sigma_d(x)^2 = exp(logvar_d(x)).
 *
 * <p>The aggregate posterior q(z) = E_x q(z|x) has, per dimension, mean {@code E[mu_d]} and variance
 * {@code Var[mu_d] + E[sigma_d^2]} (the law of total variance). Sampling from the prior N(0, I) shows what the
 * decoder learned only where q(z) resembles it: a mean far from 0 or a total variance far from 1 means prior
 * samples land where the decoder was rarely trained. A dimension is <i>active</i> (Burda et al., 2016) when
 * {@code Var[mu_d] > 0.01}: its code varies with the image; an inactive one has collapsed to the prior (mu about 0,
 * sigma about 1) and carries no information.
 *
 * @param samples    images the statistics cover
 * @param meanMu     E_x[mu_d]
 * @param varMu      Var_x[mu_d]
 * @param meanSigma2 E_x[exp(logvar_d)]
 */
public record PosteriorStats(int samples, double[] meanMu, double[] varMu, double[] meanSigma2) {
    /** Burda et al.'s threshold on Var_x[mu_d] for an active unit. */
    public static final double ACTIVE = 0.01;

    /** The statistics of {@code n} rows of {@code d} values each ({@code mu} and {@code logvar}, row-major). */
    public static PosteriorStats of(float[] mu, float[] logvar, int n, int d) {
        if (n < 1 || d < 1 || mu.length < (long) n * d || logvar.length < (long) n * d)
            throw new IllegalArgumentException(n + " rows of " + d + " values need " + (long) n * d + " floats, got "
                    + mu.length + " and " + logvar.length);
        double[] mean = new double[d], var = new double[d], s2 = new double[d];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < d; k++) {
                mean[k] += mu[i * d + k];
                s2[k] += Math.exp(logvar[i * d + k]);
            }
        for (int k = 0; k < d; k++) {
            mean[k] /= n;
            s2[k] /= n;
        }
        for (int i = 0; i < n; i++)                  // two passes: no cancellation in E[mu^2] - E[mu]^2
            for (int k = 0; k < d; k++) {
                double c = mu[i * d + k] - mean[k];
                var[k] += c * c;
            }
        for (int k = 0; k < d; k++) var[k] /= n;
        return new PosteriorStats(n, mean, var, s2);
    }

    public int latent() { return meanMu.length; }

    /** Var[mu_d] + E[sigma_d^2]: the aggregate posterior's variance along d (1 under the prior). */
    public double aggregateVariance(int d) { return varMu[d] + meanSigma2[d]; }

    public boolean active(int d) { return varMu[d] > ACTIVE; }

    public int activeUnits() {
        int a = 0;
        for (int d = 0; d < latent(); d++) if (active(d)) a++;
        return a;
    }

    /** One line per dimension and a summary, for a terminal. */
    public String table() {
        StringBuilder sb = new StringBuilder(String.format(java.util.Locale.ROOT,
                "  dim   E[mu]   Var[mu]  E[sigma^2]  Var[mu]+E[sigma^2]%n"));
        for (int d = 0; d < latent(); d++)
            sb.append(String.format(java.util.Locale.ROOT, "  %3d %7.3f %9.4f %11.4f %19.3f%s%n", d, meanMu[d], varMu[d],
                    meanSigma2[d], aggregateVariance(d), active(d) ? "" : "  inactive"));
        sb.append(String.format(java.util.Locale.ROOT,
                "  active units (Var[mu] > %.2f): %d of %d; over %d images%n", ACTIVE, activeUnits(), latent(), samples));
        return sb.toString();
    }
}
