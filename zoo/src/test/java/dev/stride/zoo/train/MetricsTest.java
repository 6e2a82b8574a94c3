package dev.stride.zoo.train;

import dev.stride.zoo.Classifier;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MetricsTest {
    /** Four rows of five classes, labels 3, 2, 4, 2. */
    static final float[] LOGITS = {
            0.1f, 2.0f, 0.3f, 1.5f, -1f,     // label 3: only class 1 is higher -> rank 1
            1f, 1f, 1f, 1f, 1f,              // label 2: all tied, classes 0 and 1 come first -> rank 2
            5f, 4f, 3f, 2f, 1f,              // label 4: lowest -> rank 4
            0f, 0f, 9f, 0f, 0f,              // label 2: highest -> rank 0
    };
    static final float[] LABELS = {3, 2, 4, 2};

    @Test
    void ranksAndTopKOnHandMadeLogits() {
        assertEquals(1, Metrics.rank(LOGITS, 0, 5, 3));
        assertEquals(2, Metrics.rank(LOGITS, 1, 5, 2));
        assertEquals(4, Metrics.rank(LOGITS, 2, 5, 4));
        assertEquals(0, Metrics.rank(LOGITS, 3, 5, 2));
        assertFalse(Metrics.inTopK(LOGITS, 0, 5, 3, 1));
        assertTrue(Metrics.inTopK(LOGITS, 0, 5, 3, 2));
        int[] expected = {0, 1, 2, 3, 3, 4, 4};      // k = 0 unused, then k = 1..6
        for (int k = 1; k <= 6; k++) assertEquals(expected[k], Metrics.topKCorrect(LOGITS, LABELS, 4, 5, k), "k = " + k);
        assertEquals(1, Metrics.topKCorrect(LOGITS, LABELS, 2, 5, 2), "only the first n rows count");
        assertThrows(IllegalArgumentException.class, () -> Metrics.inTopK(LOGITS, 0, 5, 3, 0));
        assertThrows(IllegalArgumentException.class, () -> Metrics.rank(LOGITS, 0, 5, 5));
        assertThrows(IllegalArgumentException.class, () -> Metrics.topKCorrect(LOGITS, new float[] {0.5f}, 1, 5, 1));
    }

    @Test
    void crossEntropyByHand() {
        // softmax([0, ln 3]) = [1/4, 3/4]: -log(1/4) = ln 4 for label 0, -log(3/4) for label 1.
        float[] l = {0f, (float) Math.log(3)};
        assertEquals(Math.log(4), Metrics.crossEntropy(l, 0, 2, 0), 1e-6);
        assertEquals(-Math.log(0.75), Metrics.crossEntropy(l, 0, 2, 1), 1e-6);
        // Large logits do not overflow: log(1 + e^-1000) ~ 0, so the loss of the losing class is 1000.
        float[] big = {1000f, 0f};
        assertEquals(1000, Metrics.crossEntropy(big, 0, 2, 1), 1e-9);
        assertEquals(0, Metrics.crossEntropy(big, 0, 2, 0), 1e-9);
    }

    /** Top-1 by rank is exactly Classifier.argmax, ties included (logits drawn from few values to force ties). */
    @Property(tries = 200)
    void topOneIsArgmax(@ForAll @IntRange(min = 1, max = 12) int classes, @ForAll long seed) {
        Random r = new Random(seed);
        float[] logits = new float[3 * classes];
        for (int i = 0; i < logits.length; i++) logits[i] = r.nextInt(4);
        for (int row = 0; row < 3; row++)
            for (int y = 0; y < classes; y++)
                assertEquals(Classifier.argmax(logits, row, classes) == y, Metrics.rank(logits, row, classes, y) == 0);
    }
}
