package dev.ioqueue.internal.core;

import dev.ioqueue.internal.poll.Interest;
import java.util.Arrays;

/**
 * The {@link Registration}s of one queue by fd number, with the count of their waiters and the list
 * of those changed since the last flush. Storage: a dense array for fds below {@value #DENSE_LIMIT}
 * (grown to the highest fd seen there, 8 bytes a slot) and an open-addressing hash table above, so
 * a huge fd number costs one entry, never an array that size. A registration leaves when idle.
 * Owner thread only.
 */
final class FdTable {
    static final int DENSE_LIMIT = 1 << 16;

    private Registration[] dense = new Registration[64];
    private Registration[] sparse = new Registration[0]; // power of two; linear probing
    private int sparseCount;
    private int count;
    private int waiterCount;
    private Registration[] dirty = new Registration[16];
    private int dirtyCount;

    Registration get(int fd) {
        if (fd < DENSE_LIMIT) return fd < dense.length ? dense[fd] : null;
        return sparseGet(fd);
    }

    /** The registration of {@code fd}, made if absent. Only for an fd the kernel accepted. */
    Registration getOrCreate(int fd) {
        Registration r = get(fd);
        if (r != null) return r;
        r = new Registration(fd);
        if (fd < DENSE_LIMIT) {
            if (fd >= dense.length) dense = Arrays.copyOf(dense, Math.min(DENSE_LIMIT, Math.max(fd + 1, dense.length * 2)));
            dense[fd] = r;
        } else {
            sparsePut(r);
        }
        count++;
        return r;
    }

    void remove(Registration r) {
        if (r.fd < DENSE_LIMIT) {
            if (r.fd < dense.length && dense[r.fd] == r) {
                dense[r.fd] = null;
                count--;
            }
        } else if (sparseRemove(r)) {
            count--;
        }
    }

    int size() {
        return count;
    }

    int waiterCount() {
        return waiterCount;
    }

    void addWaiter(Registration reg, int kind, Object callback) {
        reg.setWaiter(kind, callback);
        waiterCount++;
    }

    /** {@code n} waiters left their registrations (the poller woke them). */
    void waitersTaken(int n) {
        waiterCount -= n;
    }

    void takeWaiter(Registration reg, int kind) {
        reg.setWaiter(kind, null);
        waiterCount--;
    }

    /** Moves every waiter of {@code reg} to {@code dropped}; whether there was any. */
    boolean takeWaiters(Registration reg, Dropped dropped) {
        boolean any = false;
        for (int kind = 0; kind < Interest.KINDS; kind++) {
            Object w = reg.waiter(kind);
            if (w != null) {
                takeWaiter(reg, kind);
                dropped.add(reg.fd, w);
                any = true;
            }
        }
        return any;
    }

    /** Forgets {@code reg} once nothing waits, is registered, listed or handed out. */
    void removeIfIdle(Registration reg) {
        if (reg.idle() && get(reg.fd) == reg) remove(reg);
    }

    /** Lists {@code reg} for the next flush. */
    void markDirty(Registration reg) {
        if (reg.is(Registration.DIRTY)) return;
        reg.set(Registration.DIRTY);
        if (dirtyCount == dirty.length) dirty = Arrays.copyOf(dirty, dirtyCount * 2);
        dirty[dirtyCount++] = reg;
    }

    /** {@code reg} lost a waiter this round: its registration is kept until the next flush. */
    void markLapsed(Registration reg) {
        reg.set(Registration.LAPSED);
        markDirty(reg);
    }

    /** Starts a flush: returns how many are listed, each read once through {@link #dirty(int)}; the list restarts empty. */
    int takeDirty() {
        int n = dirtyCount;
        dirtyCount = 0;
        return n;
    }

    /** The i-th registration listed before {@link #takeDirty()}; safe while new ones are listed. */
    Registration dirty(int i) {
        Registration reg = dirty[i];
        dirty[i] = null;
        return reg;
    }

    /** Every registration, in a new array (close and rebuild only). */
    Registration[] snapshot() {
        Registration[] out = new Registration[count];
        int n = 0;
        for (Registration r : dense) if (r != null) out[n++] = r;
        for (Registration r : sparse) if (r != null) out[n++] = r;
        return out;
    }

    private int slot(int fd) {
        return (fd * 0x9E3779B9) >>> (32 - Integer.numberOfTrailingZeros(sparse.length)) & (sparse.length - 1);
    }

    private Registration sparseGet(int fd) {
        if (sparseCount == 0) return null;
        for (int i = slot(fd); ; i = (i + 1) & (sparse.length - 1)) {
            Registration r = sparse[i];
            if (r == null || r.fd == fd) return r;
        }
    }

    private void sparsePut(Registration r) {
        if ((sparseCount + 1) * 2 > sparse.length) resize(Math.max(16, sparse.length * 2));
        int i = slot(r.fd);
        while (sparse[i] != null) i = (i + 1) & (sparse.length - 1);
        sparse[i] = r;
        sparseCount++;
    }

    private boolean sparseRemove(Registration r) {
        if (sparseCount == 0) return false;
        int i = slot(r.fd);
        while (sparse[i] != r) {
            if (sparse[i] == null) return false;
            i = (i + 1) & (sparse.length - 1);
        }
        sparse[i] = null;
        sparseCount--;
        // Re-insert the rest of the cluster so probing still finds it.
        for (int j = (i + 1) & (sparse.length - 1); sparse[j] != null; j = (j + 1) & (sparse.length - 1)) {
            Registration moved = sparse[j];
            sparse[j] = null;
            int k = slot(moved.fd);
            while (sparse[k] != null) k = (k + 1) & (sparse.length - 1);
            sparse[k] = moved;
        }
        if (sparseCount == 0 && sparse.length > 16) sparse = new Registration[0];
        return true;
    }

    private void resize(int size) {
        Registration[] old = sparse;
        sparse = new Registration[size];
        for (Registration r : old) {
            if (r == null) continue;
            int i = slot(r.fd);
            while (sparse[i] != null) i = (i + 1) & (sparse.length - 1);
            sparse[i] = r;
        }
    }
}
