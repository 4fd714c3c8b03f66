package dev.ioqueue.internal.uring;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.ioqueue.internal.os.NativeMemory;
import dev.ioqueue.internal.os.Uring;
import java.lang.foreign.MemorySegment;

/**
 * A ring's table of fixed files (sparse, registered at setup): a slot holds its own reference to a
 * file, so requests on it skip the kernel's fd lookup (with more than one thread in the process,
 * each lookup takes the slow, shared path). A slot is taken when a {@code Handle}'s fd first does
 * completion I/O, and given back (one {@code io_uring_register}) before that fd is closed. When
 * the table is full, or the kernel refuses, fds are used as they are. Owner thread only.
 */
final class FixedFiles {
    private final Ring ring;
    private final MemorySegment scratch;
    private final int[] free;
    private int freeCount;
    private final boolean registered;

    FixedFiles(Ring ring, int slots) {
        this.ring = ring;
        scratch = NativeMemory.allocate(64);
        MemorySegment reg = scratch.asSlice(0, Uring.RSRC_REGISTER_SIZE);
        reg.set(JAVA_INT, 4, Uring.RSRC_REGISTER_SPARSE);
        boolean ok = false;
        for (; slots >= 1 && !ok; slots /= 2) { // a table larger than RLIMIT_NOFILE is refused (EMFILE): try smaller
            reg.set(JAVA_INT, 0, slots);
            ok = ring.register(Uring.REGISTER_FILES2, reg, (int) Uring.RSRC_REGISTER_SIZE) >= 0;
            if (ok) break;
        }
        registered = ok;
        free = new int[registered ? slots : 0];
        for (int i = 0; i < free.length; i++) free[i] = free.length - 1 - i;
        freeCount = free.length;
    }

    /** A slot now holding {@code fd}'s file, or -1 (table full, or refused): then use the fd itself. */
    int take(int fd) {
        if (freeCount == 0) return -1;
        int slot = free[freeCount - 1];
        if (!update(slot, fd)) return -1;
        freeCount--;
        return slot;
    }

    /** Empties {@code slot}: the table lets go of its file (before the fd is closed). */
    void give(int slot) {
        update(slot, -1);
        free[freeCount++] = slot;
    }

    private boolean update(int slot, int fd) {
        MemorySegment fds = scratch.asSlice(32, 4);
        fds.set(JAVA_INT, 0, fd);
        MemorySegment update = scratch.asSlice(40, Uring.FILES_UPDATE_SIZE);
        update.set(JAVA_INT, 0, slot);
        update.set(JAVA_LONG, 8, fds.address());
        return ring.register(Uring.REGISTER_FILES_UPDATE, update, 1) == 1;
    }

    /** Frees the scratch memory (the table itself goes with the ring). Any thread. */
    void free() {
        NativeMemory.free(scratch);
    }
}
