package dev.stride.zoo.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 20, unit = TimeUnit.SECONDS)
class PrefetcherTest {
    static final int PER = 28 * 28;

    /** A dataset that runs a hook before each batch (the loader thread's view of time). */
    static final class Hooked implements Batches.Dataset {
        final Batches.Dataset data;
        final AtomicInteger calls = new AtomicInteger();
        volatile Runnable hook = () -> {};

        Hooked(Batches.Dataset data) { this.data = data; }

        public int size() { return data.size(); }

        public int[] imageShape() { return data.imageShape(); }

        public void batch(int[] indices, float[] images, float[] labels) {
            calls.incrementAndGet();
            hook.run();
            data.batch(indices, images, labels);
        }
    }

    @Test
    void deliversTheSameBatchesInTheSameOrderAsBatchesEpoch() {
        var data = new GeneratedDigits(70, 5);
        var batches = new Batches(70, 16, false, 42);   // 4 full batches and one of 6
        for (int epoch = 0; epoch < 3; epoch++) {
            List<int[]> order = batches.epoch(epoch);
            int n = 0;
            try (var p = Prefetcher.epoch(data, batches, epoch)) {
                assertEquals(order.size(), p.count());
                for (Prefetcher.Batch b : p) {
                    assertEquals(n, b.number());
                    assertArrayEquals(order.get(n), b.indices(), "epoch " + epoch + " batch " + n);
                    float[] images = new float[b.size() * PER], labels = new float[b.size()];
                    data.batch(order.get(n), images, labels);
                    assertArrayEquals(images, Arrays.copyOf(b.images(), images.length));
                    assertArrayEquals(labels, Arrays.copyOf(b.labels(), labels.length));
                    n++;
                }
                assertFalse(p.hasNext());
                assertThrows(NoSuchElementException.class, p::next);
            }
            assertEquals(order.size(), n);
        }
    }

    @Test
    void loadsAheadWhileTheCallerHoldsABatchWithoutTouchingIt() throws InterruptedException {
        var data = new Hooked(new GeneratedDigits(80, 9));
        var loaded = new CountDownLatch(3);
        data.hook = loaded::countDown;
        List<int[]> order = new Batches(80, 8, false, 1).epoch(0);
        try (var p = new Prefetcher(data, order)) {
            Prefetcher.Batch first = p.next();
            float[] snapshot = first.images().clone();
            // Batch 0 plus DEPTH more are loaded while the caller still holds batch 0 ...
            assertTrue(loaded.await(10, TimeUnit.SECONDS), "loader did not work ahead: " + data.calls);
            Thread.sleep(100);
            // ... and no more: the fourth buffer is the one in the caller's hands, which stays as delivered.
            assertEquals(1 + Prefetcher.DEPTH, data.calls.get());
            assertArrayEquals(snapshot, first.images());
            assertArrayEquals(order.get(1), p.next().indices());
        }
    }

    @Test
    void aLoaderExceptionReachesTheCallerWithItsCause() {
        var data = new Hooked(new GeneratedDigits(40, 2));
        var boom = new IllegalStateException("disk on fire");
        List<int[]> order = new Batches(40, 10, false, 3).epoch(0);
        data.hook = () -> {
            if (data.calls.get() == 3) throw boom;   // the third batch
        };
        try (var p = new Prefetcher(data, order)) {
            assertEquals(0, p.next().number());
            assertEquals(1, p.next().number());
            assertTrue(p.hasNext());   // there is something to report
            var e = assertThrows(Prefetcher.LoaderException.class, p::next);
            assertSame(boom, e.getCause());
            assertTrue(e.getMessage().contains("batch 2") && e.getMessage().contains("disk on fire"), e.getMessage());
            // And again: the epoch does not silently continue.
            assertSame(boom, assertThrows(Prefetcher.LoaderException.class, p::next).getCause());
        }
    }

    @Test
    void anErrorIsRethrownToo() {
        var data = new Hooked(new GeneratedDigits(10, 2));
        data.hook = () -> { throw new StackOverflowError("deep"); };
        try (var p = new Prefetcher(data, new Batches(10, 5, false, 0).epoch(0))) {
            var e = assertThrows(Prefetcher.LoaderException.class, p::next);
            assertTrue(e.getCause() instanceof StackOverflowError);
        }
    }

    @Test
    void closeStopsAThreadWaitingForBuffers() throws InterruptedException {
        var data = new GeneratedDigits(200, 1);
        var p = new Prefetcher(data, new Batches(200, 10, false, 0).epoch(0));
        Thread t = p.thread();
        assertTrue(t.isDaemon());
        p.next();   // the loader fills the queue and then waits for a free buffer
        p.close();
        t.join(5000);
        assertFalse(t.isAlive());
        assertFalse(p.hasNext());
        assertThrows(IllegalStateException.class, p::next);
        p.close();   // idempotent
    }

    @Test
    void closeStopsAThreadInsideASlowBatch() throws InterruptedException {
        var data = new Hooked(new GeneratedDigits(50, 1));
        var entered = new CountDownLatch(1);
        data.hook = () -> {
            entered.countDown();
            try {
                new CountDownLatch(1).await();   // a read that never finishes unless interrupted
            } catch (InterruptedException e) {
                throw new IllegalStateException("interrupted read", e);
            }
        };
        var p = new Prefetcher(data, new Batches(50, 10, false, 0).epoch(0));
        assertTrue(entered.await(10, TimeUnit.SECONDS));
        p.close();
        assertFalse(p.thread().isAlive());
    }

    @Test
    void closeBeforeAnyBatchIsTaken() throws InterruptedException {
        var p = new Prefetcher(new GeneratedDigits(100, 1), new Batches(100, 10, false, 0).epoch(0));
        p.close();
        p.thread().join(5000);
        assertFalse(p.thread().isAlive());
    }

    @Test
    void theEpochReachesAnAugmentedDataset() {
        var aug = new AugmentedDataset(new GeneratedDigits(30, 4), Augment.mnist(), 77);
        var batches = new Batches(30, 7, true, 8);
        try (var p = Prefetcher.epoch(aug, batches, 5)) {
            for (Prefetcher.Batch b : p) {
                float[] images = new float[b.size() * PER], labels = new float[b.size()];
                aug.batch(5, b.indices(), images, labels);
                assertArrayEquals(images, Arrays.copyOf(b.images(), images.length), "batch " + b.number());
            }
        }
    }

    @Test
    void emptyOrdersAndSingleUse() {
        try (var p = new Prefetcher(new GeneratedDigits(0, 1), List.of())) {
            assertFalse(p.hasNext());
            assertThrows(NoSuchElementException.class, p::next);
            p.iterator();
            assertThrows(IllegalStateException.class, p::iterator);
        }
        List<Integer> seen = new ArrayList<>();
        try (var p = new Prefetcher(new GeneratedDigits(9, 1), new Batches(9, 4, false, 0).epoch(0))) {
            while (p.hasNext()) seen.add(p.next().size());
        }
        assertEquals(List.of(4, 4, 1), seen);
    }
}
