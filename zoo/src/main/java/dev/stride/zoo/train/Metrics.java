package dev.stride.zoo.train;

/**
 * Classification metrics on the host, from rows of logits {@code [B, classes]} and class indices stored as floats
 * (as {@link dev.stride.zoo.data.Batches.Dataset} fills them). Computed in double.
 */
public final class Metrics {
    private Metrics() {}

    /**
     * The rank of the true class in row {@code row}: how many classes come before it when the row is sorted by
     * descending logit, ties going to the lower class index (so rank 0 is exactly
     * {@link dev.stride.zoo.Classifier#argmax}'s choice, and top-1 accuracy equals plain accuracy).
     */
    public static int rank(float[] logits, int row, int classes, int label) {
        checkLabel(label, classes, row);
        int base = row * classes;
        float y = logits[base + label];
        int r = 0;
        for (int c = 0; c < classes; c++) {
            float v = logits[base + c];
            if (v > y || v == y && c < label) r++;
        }
        return r;
    }

    /** Whether the true class of row {@code row} is among the {@code k} highest logits (ties as {@link #rank}). */
    public static boolean inTopK(float[] logits, int row, int classes, int label, int k) {
        if (k < 1) throw new IllegalArgumentException("k must be >= 1, got " + k);
        return rank(logits, row, classes, label) < k;
    }

    /** How many of the first {@code n} rows have their label among the {@code k} highest logits. */
    public static int topKCorrect(float[] logits, float[] labels, int n, int classes, int k) {
        int correct = 0;
        for (int i = 0; i < n; i++) if (inTopK(logits, i, classes, label(labels, i), k)) correct++;
        return correct;
    }

    /** -log softmax(row)[label], by log-sum-exp around the row maximum so that large logits do not overflow. */
    public static double crossEntropy(float[] logits, int row, int classes, int label) {
        checkLabel(label, classes, row);
        int base = row * classes;
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < classes; c++) max = Math.max(max, logits[base + c]);
        double sum = 0;
        for (int c = 0; c < classes; c++) sum += Math.exp(logits[base + c] - max);
        return max + Math.log(sum) - logits[base + label];
    }

    /** Row {@code i}'s label as an int, rejecting a value that is not a whole number. */
    static int label(float[] labels, int i) {
        int c = (int) labels[i];
        if (c != labels[i]) throw new IllegalArgumentException("label " + labels[i] + " at " + i + " is not a class index");
        return c;
    }

    private static void checkLabel(int label, int classes, int row) {
        if (label < 0 || label >= classes)
            throw new IllegalArgumentException("label " + label + " of row " + row + " is not a class 0.." + (classes - 1));
    }
}
