package dev.ioqueue.internal.core;

import java.util.Arrays;

/**
 * The callbacks collected from one wait, not yet run: parallel arrays, reused, so a wake-up
 * allocates nothing. An entry is live while its registration's epoch is the one it was collected
 * at; a callback that throws leaves the rest here for the next run. Owner thread only.
 */
final class ReadyBatch {
    private Registration[] regs = new Registration[256];
    private int[] masks = new int[256];
    private int[] epochs = new int[256];
    private byte[] kinds = new byte[256];
    private Object[] callbacks = new Object[256];
    private int head;
    private int tail;

    void add(Registration reg, int kind, int eventMask, Object callback) {
        if (tail == regs.length) grow();
        regs[tail] = reg;
        kinds[tail] = (byte) kind;
        masks[tail] = eventMask;
        epochs[tail] = reg.epoch;
        callbacks[tail] = callback;
        tail++;
    }

    private void grow() {
        if (head > 0) { // compact first
            int n = tail - head;
            System.arraycopy(regs, head, regs, 0, n);
            System.arraycopy(kinds, head, kinds, 0, n);
            System.arraycopy(masks, head, masks, 0, n);
            System.arraycopy(epochs, head, epochs, 0, n);
            System.arraycopy(callbacks, head, callbacks, 0, n);
            Arrays.fill(regs, n, tail, null);
            Arrays.fill(callbacks, n, tail, null);
            head = 0;
            tail = n;
            if (tail < regs.length) return;
        }
        int size = regs.length * 2;
        regs = Arrays.copyOf(regs, size);
        kinds = Arrays.copyOf(kinds, size);
        masks = Arrays.copyOf(masks, size);
        epochs = Arrays.copyOf(epochs, size);
        callbacks = Arrays.copyOf(callbacks, size);
    }

    boolean isEmpty() {
        return head == tail;
    }

    /** Whether the next entry still stands: not withdrawn, its fd not forgotten since. */
    boolean live() {
        return callbacks[head] != null && regs[head].epoch == epochs[head];
    }

    Registration registration() {
        return regs[head];
    }

    int eventMask() {
        return masks[head];
    }

    int epoch() {
        return epochs[head];
    }

    Object callback() {
        return callbacks[head];
    }

    /** Drops the next entry (read it first). */
    void pop() {
        callbacks[head] = null;
        regs[head] = null;
        if (++head == tail) head = tail = 0;
    }

    /** Moves every live entry of {@code reg} to {@code dropped}, to be told they were dropped. */
    void takeAll(Registration reg, Dropped dropped) {
        for (int i = head; i < tail; i++) {
            if (regs[i] == reg && callbacks[i] != null && epochs[i] == reg.epoch) {
                dropped.add(reg.fd, callbacks[i]);
                reg.ran(callbacks[i]); // it no longer holds its place (it may be pending elsewhere soon)
                callbacks[i] = null;
            }
        }
    }

    /** Removes the entry for exactly this waiter, if collected and not yet run; whether it was. */
    boolean remove(Registration reg, int kind, Object callback) {
        for (int i = head; i < tail; i++) {
            if (callbacks[i] == callback && regs[i] == reg && kinds[i] == kind && epochs[i] == reg.epoch) {
                reg.ran(callback);
                callbacks[i] = null; // skipped when run
                return true;
            }
        }
        return false;
    }
}
