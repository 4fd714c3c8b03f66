package dev.ioqueue.internal;

import dev.ioqueue.ReadyCallback;
import java.util.Arrays;

/**
 * What one queue knows of each fd, in arrays indexed by the fd number: the waiters (one per kind),
 * the epoll registration (its generation and interest bits), the persist flag and an epoch that
 * {@code unregister} advances to void callbacks already collected. Owner thread only.
 *
 * <p>A generation is stored in each registration's epoll data next to the fd, so an event from a
 * registration the table no longer knows (the fd was closed behind the queue's back while a
 * {@code dup} kept its file alive) is recognised as stale instead of waking the wrong waiter.
 */
public final class FdTable {
    private static final byte PERSIST = 1;
    private static final byte DIRTY = 2;
    private static final byte LAPSED = 4;

    private ReadyCallback[] waiters = new ReadyCallback[64 * Interest.KINDS];
    private int[] generation = new int[64];
    private int[] osMask = new int[64];
    private int[] epoch = new int[64];
    private byte[] flags = new byte[64];
    private int[] dirty = new int[16];
    private int dirtyCount;
    private int waiterCount;
    private int nextGeneration = 1;

    /** Grows the arrays to hold {@code fd}. */
    public void ensure(int fd) {
        if (fd < generation.length) return;
        int size = Math.max(fd + 1, generation.length * 2);
        waiters = Arrays.copyOf(waiters, size * Interest.KINDS);
        generation = Arrays.copyOf(generation, size);
        osMask = Arrays.copyOf(osMask, size);
        epoch = Arrays.copyOf(epoch, size);
        flags = Arrays.copyOf(flags, size);
    }

    public boolean knows(int fd) {
        return fd < generation.length;
    }

    public int capacity() {
        return generation.length;
    }

    public ReadyCallback waiter(int fd, int kind) {
        return waiters[fd * Interest.KINDS + kind];
    }

    public void setWaiter(int fd, int kind, ReadyCallback callback) {
        waiters[fd * Interest.KINDS + kind] = callback;
        waiterCount++;
    }

    /** Removes and returns the waiter, or null. */
    public ReadyCallback takeWaiter(int fd, int kind) {
        int i = fd * Interest.KINDS + kind;
        ReadyCallback w = waiters[i];
        if (w != null) {
            waiters[i] = null;
            waiterCount--;
        }
        return w;
    }

    /** Removes every waiter of {@code fd} into {@code out} (room for {@link Interest#KINDS}); returns how many. */
    public int takeWaiters(int fd, ReadyCallback[] out) {
        int n = 0;
        for (int k = 0; k < Interest.KINDS; k++) {
            ReadyCallback w = takeWaiter(fd, k);
            if (w != null) out[n++] = w;
        }
        return n;
    }

    /** The epoll bits the current waiters of {@code fd} need. */
    public int wantedMask(int fd) {
        int mask = 0;
        int base = fd * Interest.KINDS;
        for (int k = 0; k < Interest.KINDS; k++) if (waiters[base + k] != null) mask |= Interest.epollBit(k);
        return mask;
    }

    public int waiterCount() {
        return waiterCount;
    }

    public int generation(int fd) {
        return generation[fd];
    }

    public int osMask(int fd) {
        return osMask[fd];
    }

    public boolean registered(int fd) {
        return generation[fd] != 0;
    }

    /** Records a new registration; returns its generation. */
    public int register(int fd, int mask) {
        int gen = nextGeneration++;
        if (nextGeneration == 0) nextGeneration = 1;
        generation[fd] = gen;
        osMask[fd] = mask;
        return gen;
    }

    public void setOsMask(int fd, int mask) {
        osMask[fd] = mask;
    }

    public void forgetRegistration(int fd) {
        generation[fd] = 0;
        osMask[fd] = 0;
    }

    public boolean persistent(int fd) {
        return (flags[fd] & PERSIST) != 0;
    }

    public void setPersistent(int fd, boolean on) {
        flags[fd] = (byte) (on ? flags[fd] | PERSIST : flags[fd] & ~PERSIST);
    }

    public int epoch(int fd) {
        return epoch[fd];
    }

    /** Voids every callback of {@code fd} collected so far. */
    public void advanceEpoch(int fd) {
        epoch[fd]++;
    }

    /** Asks the next flush to bring the registration of {@code fd} in line with its waiters. */
    public void markDirty(int fd) {
        if ((flags[fd] & DIRTY) != 0) return;
        flags[fd] |= DIRTY;
        if (dirtyCount == dirty.length) dirty = Arrays.copyOf(dirty, dirtyCount * 2);
        dirty[dirtyCount++] = fd;
    }

    /**
     * Records that {@code fd} lost a waiter (it ran, or was cancelled) since the last flush, so its
     * registration is kept only until then and may belong to a file closed meanwhile.
     */
    public void markLapsed(int fd) {
        flags[fd] |= LAPSED;
        markDirty(fd);
    }

    /** Whether {@code fd} lost a waiter since the last flush. */
    public boolean lapsed(int fd) {
        return (flags[fd] & LAPSED) != 0;
    }

    public int dirtyCount() {
        return dirtyCount;
    }

    /** The i-th dirty fd; call {@link #clearDirty()} after visiting them all. */
    public int dirtyFd(int i) {
        return dirty[i];
    }

    public void clearDirty() {
        for (int i = 0; i < dirtyCount; i++) flags[dirty[i]] &= ~(DIRTY | LAPSED);
        dirtyCount = 0;
    }
}
