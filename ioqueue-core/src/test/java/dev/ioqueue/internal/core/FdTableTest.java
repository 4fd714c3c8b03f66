package dev.ioqueue.internal.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The per-queue table of registrations: dense below 65,536, hashed above. */
class FdTableTest {
    @Test
    void getOrCreateReturnsTheSameRegistrationUntilRemoved() {
        FdTable table = new FdTable();
        Registration r = table.getOrCreate(5);
        assertSame(r, table.getOrCreate(5));
        assertSame(r, table.get(5));
        assertEquals(1, table.size());
        table.remove(r);
        assertNull(table.get(5));
        assertEquals(0, table.size());
    }

    @Test
    void hugeNumbersCostOneEntryEach() {
        FdTable table = new FdTable();
        int[] fds = {FdTable.DENSE_LIMIT, 1 << 24, 1_000_000_000, Integer.MAX_VALUE};
        for (int fd : fds) table.getOrCreate(fd);
        for (int fd : fds) assertEquals(fd, table.get(fd).fd);
        assertEquals(fds.length, table.snapshot().length);
        assertNull(table.get(Integer.MAX_VALUE - 1));
    }

    @Test
    void removingFromTheHashedPartKeepsEveryOtherEntryFindable() {
        FdTable table = new FdTable();
        Map<Integer, Registration> model = new HashMap<>();
        Random random = new Random(42);
        List<Integer> fds = new ArrayList<>();
        for (int i = 0; i < 5_000; i++) fds.add(FdTable.DENSE_LIMIT + random.nextInt(1 << 20));
        for (int fd : fds) model.put(fd, table.getOrCreate(fd));
        Collections.shuffle(fds, random);
        for (int i = 0; i < fds.size(); i++) {
            int fd = fds.get(i);
            Registration r = model.remove(fd);
            if (r != null) table.remove(r);
            if (i % 97 == 0) {
                for (Map.Entry<Integer, Registration> e : model.entrySet()) assertSame(e.getValue(), table.get(e.getKey()));
            }
        }
        assertEquals(0, table.size());
    }

    @Test
    void removingAStaleObjectLeavesTheCurrentOneInPlace() {
        FdTable table = new FdTable();
        Registration old = table.getOrCreate(7);
        table.remove(old);
        Registration current = table.getOrCreate(7);
        table.remove(old);
        assertSame(current, table.get(7));
    }
}
