package dev.ioqueue.internal;

import dev.ioqueue.ReadyCallback;
import java.util.Arrays;

/**
 * The callbacks collected from one {@code epoll_wait}, not yet run: parallel arrays, reused, so a
 * wake-up allocates nothing. A callback that throws leaves the rest here for the next run. Owner
 * thread only.
 */
public final class ReadyBatch {
    private int[] fds = new int[256];
    private int[] masks = new int[256];
    private int[] epochs = new int[256];
    private byte[] kinds = new byte[256];
    private ReadyCallback[] callbacks = new ReadyCallback[256];
    private int head;
    private int tail;

    public void add(int fd, int kind, int eventMask, int epoch, ReadyCallback callback) {
        if (tail == fds.length) grow();
        fds[tail] = fd;
        kinds[tail] = (byte) kind;
        masks[tail] = eventMask;
        epochs[tail] = epoch;
        callbacks[tail] = callback;
        tail++;
    }

    private void grow() {
        if (head > 0) { // compact first
            int n = tail - head;
            System.arraycopy(fds, head, fds, 0, n);
            System.arraycopy(kinds, head, kinds, 0, n);
            System.arraycopy(masks, head, masks, 0, n);
            System.arraycopy(epochs, head, epochs, 0, n);
            System.arraycopy(callbacks, head, callbacks, 0, n);
            Arrays.fill(callbacks, n, tail, null);
            head = 0;
            tail = n;
            if (tail < fds.length) return;
        }
        int size = fds.length * 2;
        fds = Arrays.copyOf(fds, size);
        kinds = Arrays.copyOf(kinds, size);
        masks = Arrays.copyOf(masks, size);
        epochs = Arrays.copyOf(epochs, size);
        callbacks = Arrays.copyOf(callbacks, size);
    }

    public boolean isEmpty() {
        return head == tail;
    }

    public int size() {
        return tail - head;
    }

    /** The fd of the next entry. */
    public int fd() {
        return fds[head];
    }

    public int kind() {
        return kinds[head];
    }

    public int eventMask() {
        return masks[head];
    }

    public int epoch() {
        return epochs[head];
    }

    public ReadyCallback callback() {
        return callbacks[head];
    }

    /** Drops the next entry (read it first). */
    public void pop() {
        callbacks[head] = null;
        if (++head == tail) head = tail = 0;
    }

    /**
     * Removes every live entry of {@code fd} (collected at {@code epoch}) into {@code out} from
     * {@code at}; returns how many. Unregister uses it so those waiters are told they were dropped.
     */
    public int takeAll(int fd, int epoch, ReadyCallback[] out, int at) {
        int n = 0;
        for (int i = head; i < tail; i++) {
            if (fds[i] == fd && callbacks[i] != null && epochs[i] == epoch) {
                out[at + n++] = callbacks[i];
                callbacks[i] = null;
            }
        }
        return n;
    }

    /** Removes the entry for exactly this waiter, if collected and not yet run; whether it was. */
    public boolean remove(int fd, int kind, ReadyCallback callback) {
        for (int i = head; i < tail; i++) {
            if (callbacks[i] == callback && fds[i] == fd && kinds[i] == kind) {
                callbacks[i] = null; // a null callback is skipped when run
                return true;
            }
        }
        return false;
    }
}
