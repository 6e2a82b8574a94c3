package dev.stride.zoo.data;

import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Fills batches on a background daemon thread while the caller trains on the previous one. The batches come in the
 * order given (for {@link #epoch}, that of {@link Batches#epoch}); at most {@link #DEPTH} are prepared ahead, so
 * memory stays bounded at {@code DEPTH + 1} batch buffers, which are recycled.
 *
 * <pre>{@code
 * try (var batches = Prefetcher.epoch(data, order, e)) {
 *     for (Prefetcher.Batch b : batches) train(b.images(), b.labels(), b.size());
 * }
 * }</pre>
 *
 * A {@link Batch}'s arrays belong to the prefetcher: they are valid until the following {@code next()} (or
 * {@code close()}), after which the loader refills them. An exception thrown while loading is rethrown to the
 * caller, at the batch where it happened, as a {@link LoaderException} whose cause is the original. The threads
 * only ever block on the queues: no polling.
 */
public final class Prefetcher implements Iterable<Prefetcher.Batch>, Iterator<Prefetcher.Batch>, AutoCloseable {
    /** Batches prepared ahead of the one in use. */
    public static final int DEPTH = 2;

    /**
     * One filled batch.
     *
     * @param number  position in the epoch, from 0
     * @param indices the sample indices, in batch order
     * @param images  {@code [size, C, H, W]} at the front; the array may be longer
     * @param labels  class indices at the front; the array may be longer
     */
    public record Batch(int number, int[] indices, float[] images, float[] labels) {
        public int size() { return indices.length; }
    }

    /** A failure of the loader thread, rethrown in the caller's thread; the cause is the loader's exception. */
    public static final class LoaderException extends RuntimeException {
        LoaderException(String message, Throwable cause) { super(message, cause); }
    }

    /** What the loader hands over: a batch, the end, or a failure. */
    private record Item(Batch batch, Throwable error, int number) {}

    private final List<int[]> order;
    private final BlockingQueue<Item> ready = new ArrayBlockingQueue<>(DEPTH);
    private final BlockingQueue<float[][]> free = new ArrayBlockingQueue<>(DEPTH + 1);
    private final Thread loader;
    private Batch current;   // handed to the caller, recycled at the next next()
    private Item pending;     // taken by hasNext(), not yet returned
    private Throwable failed;
    private int failedAt;
    private boolean done, closed, iterated;
    private volatile boolean stopping;

    /** Loads {@code order}'s batches from {@code data} with epoch 0. */
    public Prefetcher(Batches.Dataset data, List<int[]> order) { this(data, order, 0); }

    /** Loads {@code order}'s batches from {@code data}, passing {@code epoch} to {@link Batches.Dataset#batch(int, int[], float[], float[])}. */
    public Prefetcher(Batches.Dataset data, List<int[]> order, int epoch) {
        this.order = List.copyOf(order);
        int largest = 0;
        for (int[] b : this.order) largest = Math.max(largest, b.length);
        long floats = (long) largest * data.imageSize();
        if (floats > Idx.MAX_PAYLOAD)
            throw new IllegalArgumentException("a batch of " + largest + " images of " + data.imageSize()
                    + " floats exceeds the largest array");
        for (int k = 0; k < DEPTH + 1; k++) free.add(new float[][] {new float[(int) floats], new float[largest]});
        loader = new Thread(() -> load(data, epoch), "stride-prefetch");
        loader.setDaemon(true);
        loader.start();
    }

    /** The batches of epoch {@code epoch} of {@code batches}, in {@link Batches#epoch} order. */
    public static Prefetcher epoch(Batches.Dataset data, Batches batches, int epoch) {
        return new Prefetcher(data, batches.epoch(epoch), epoch);
    }

    /** Batches in the epoch. */
    public int count() { return order.size(); }

    private void load(Batches.Dataset data, int epoch) {
        int n = 0;
        try {
            for (; n < order.size() && !stopping; n++) {
                float[][] buf = free.take();
                int[] idx = order.get(n).clone();
                data.batch(epoch, idx, buf[0], buf[1]);
                ready.put(new Item(new Batch(n, idx, buf[0], buf[1]), null, n));
            }
            ready.put(new Item(null, null, n));
        } catch (InterruptedException e) {
            // close(): leave quietly.
        } catch (Throwable t) {
            if (stopping) return;   // an interrupted read during close(), not a failure to report
            try {
                ready.put(new Item(null, t, n));
            } catch (InterruptedException ignored) {
                // closed while waiting to report
            }
        }
    }

    /** Whether another batch follows; blocks until the loader has it (or has failed, which next() then throws). */
    @Override public boolean hasNext() {
        if (closed) return false;
        if (pending == null && !done && failed == null) pending = take();
        return failed != null || (pending != null && pending.batch != null);
    }

    /**
     * The next batch; the previous one's arrays go back to the loader.
     *
     * @throws NoSuchElementException after the last batch
     * @throws LoaderException        when loading this batch failed (and on every call after)
     */
    @Override public Batch next() {
        if (closed) throw new IllegalStateException("prefetcher is closed");
        if (failed != null) throw failure();
        recycle();
        if (pending == null && !done) pending = take();
        Item item = pending;
        pending = null;
        if (item == null || item.batch == null) {
            done = true;
            if (failed != null) throw failure();
            throw new NoSuchElementException("all " + order.size() + " batches delivered");
        }
        current = item.batch;
        return current;
    }

    private Item take() {
        Item item;
        try {
            item = ready.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LoaderException("interrupted while waiting for a batch", e);
        }
        if (item.error != null) {
            failed = item.error;
            failedAt = item.number;
        }
        if (item.batch == null) done = true;
        return item;
    }

    private LoaderException failure() {
        int[] idx = failedAt < order.size() ? order.get(failedAt) : new int[0];
        return new LoaderException("loading batch " + failedAt + " of " + order.size() + " (" + idx.length
                + " samples, first index " + (idx.length > 0 ? idx[0] : -1) + ") failed: " + failed, failed);
    }

    private void recycle() {
        if (current != null) {
            free.add(new float[][] {current.images, current.labels});   // never full: DEPTH + 1 buffers in all
            current = null;
        }
    }

    /** This prefetcher, iterated once (for-each). */
    @Override public Iterator<Batch> iterator() {
        if (iterated) throw new IllegalStateException("a prefetcher is iterated once; make one per epoch");
        iterated = true;
        return this;
    }

    /** The loader thread, for tests and diagnostics. */
    Thread thread() { return loader; }

    /**
     * Stops the loader and waits for it to end: it is interrupted out of a wait at once; a batch being loaded is
     * finished first (or abandoned if the dataset gives up on an interrupt). Idempotent.
     */
    @Override public void close() {
        if (closed) return;
        closed = true;
        stopping = true;
        loader.interrupt();
        boolean interrupted = false;
        while (loader.isAlive()) {
            try {
                loader.join();
            } catch (InterruptedException e) {
                interrupted = true;   // still wait: the promise is that the thread is gone
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        ready.clear();
        current = null;
        pending = null;
    }
}
