package dev.ioqueue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ioqueue.Inotify.Event;
import dev.ioqueue.Inotify.Kind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InotifyTest extends QueueTestSupport {
    @TempDir
    Path dir;

    /** "CREATE a.txt" for each event, kinds in enum order. */
    private static List<String> describe(List<Event> events) {
        List<String> out = new ArrayList<>();
        for (Event e : events) out.add(String.join("+", e.kinds().stream().map(Kind::name).toList()) + " " + e.name());
        return out;
    }

    /** Reads until nothing is pending. */
    private static List<Event> readAll(Inotify inotify) {
        List<Event> all = new ArrayList<>();
        for (List<Event> batch = inotify.read(); !batch.isEmpty(); batch = inotify.read()) all.addAll(batch);
        return all;
    }

    @Test
    void createModifyAndDeleteAreReportedWithTheirNames() throws IOException {
        try (Inotify inotify = Inotify.open()) {
            Inotify.Watch watch = inotify.add(dir, EnumSet.of(Kind.CREATE, Kind.MODIFY, Kind.DELETE));
            assertEquals(List.of(), inotify.read(), "nothing yet, and no blocking");
            Path file = dir.resolve("a.txt");
            Files.writeString(file, "x");
            Files.delete(file);
            List<Event> events = inotify.read();
            assertEquals(List.of("CREATE a.txt", "MODIFY a.txt", "DELETE a.txt"), describe(events));
            for (Event e : events) {
                assertEquals(watch, e.watch());
                assertFalse(e.directory());
                assertEquals(0, e.cookie());
            }
        }
    }

    @Test
    void severalEventsInOneReadAreAllParsed() throws IOException {
        try (Inotify inotify = Inotify.open()) {
            inotify.add(dir, EnumSet.of(Kind.CREATE));
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < 50; i++) {
                String name = "f".repeat(i % 7 + 1) + i; // names of several padded lengths
                Files.createFile(dir.resolve(name));
                expected.add("CREATE " + name);
            }
            Files.createDirectory(dir.resolve("sub"));
            expected.add("CREATE sub");
            List<Event> events = inotify.read();
            assertEquals(expected, describe(events));
            assertTrue(events.getLast().directory(), "IN_ISDIR");
        }
    }

    @Test
    void aMoveIsAPairOfEventsWithOneCookie() throws IOException {
        try (Inotify inotify = Inotify.open()) {
            Files.createFile(dir.resolve("old"));
            inotify.add(dir, EnumSet.of(Kind.MOVED_FROM, Kind.MOVED_TO));
            Files.move(dir.resolve("old"), dir.resolve("new"));
            List<Event> events = inotify.read();
            assertEquals(List.of("MOVED_FROM old", "MOVED_TO new"), describe(events));
            assertTrue(events.get(0).cookie() != 0);
            assertEquals(events.get(0).cookie(), events.get(1).cookie());
        }
    }

    @Test
    void anEventOnTheWatchedFileItselfHasNoName() throws IOException {
        Path file = Files.createFile(dir.resolve("watched"));
        try (Inotify inotify = Inotify.open()) {
            inotify.add(file, EnumSet.of(Kind.ATTRIB, Kind.DELETE_SELF));
            Files.setLastModifiedTime(file, java.nio.file.attribute.FileTime.fromMillis(0));
            assertEquals(List.of("ATTRIB null"), describe(inotify.read()));
            Files.delete(file);
            // Unlinking the last link: ATTRIB (the link count), DELETE_SELF, then the watch ends.
            assertEquals(List.of("ATTRIB null", "DELETE_SELF null", "IGNORED null"), describe(readAll(inotify)));
        }
    }

    @Test
    void removingAWatchReportsIgnoredForIt() {
        try (Inotify inotify = Inotify.open()) {
            Inotify.Watch watch = inotify.add(dir, EnumSet.of(Kind.CREATE));
            assertTrue(inotify.remove(watch));
            List<Event> events = inotify.read();
            assertEquals(List.of(new Event(watch, Set.of(Kind.IGNORED), false, 0, null)), events);
            assertFalse(inotify.remove(watch), "the kernel has ended it");
        }
    }

    // guards (outside round 46): descriptors are per instance, so another instance's Watch ended
    // this one's watch of the same number; the same inode added by another path came back unequal
    @Test
    void anotherInstancesWatchIsRefusedAndTheSameInodeByAnotherPathIsTheFirstWatch() throws IOException {
        Path d1 = Files.createDirectory(dir.resolve("d1"));
        Path d2 = Files.createDirectory(dir.resolve("d2"));
        Path link = Files.createSymbolicLink(dir.resolve("link"), d1);
        try (Inotify i1 = Inotify.open(); Inotify i2 = Inotify.open()) {
            Inotify.Watch w1 = i1.add(d1, EnumSet.of(Kind.CREATE));
            Inotify.Watch w2 = i2.add(d2, EnumSet.of(Kind.CREATE));
            assertEquals(w1.descriptor(), w2.descriptor(), "each instance numbers its watches from 1");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> i1.remove(w2));
            assertTrue(e.getMessage().contains(d1.toString()), e.getMessage());
            assertFalse(i2.remove(new Inotify.Watch(7, d2)), "no such watch here");
            assertEquals(w1, i1.add(link, EnumSet.of(Kind.CREATE, Kind.DELETE)), "the same inode: the first watch");
            Files.createFile(d1.resolve("a"));
            assertEquals(List.of("CREATE a"), describe(readAll(i1)), "i1's watch lives on");
            assertTrue(i1.remove(w1));
            assertEquals(List.of("IGNORED null"), describe(readAll(i1)));
            assertFalse(i1.remove(w1), "ended: its IGNORED was read");
        }
    }

    @Test
    void aQueueOverflowIsReportedAsItsOwnKind() throws IOException {
        // readAllLines, not readString: a sysctl file read one byte in answers EOF, and readString
        // reads an empty-looking /proc file that way.
        int max = Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/fs/inotify/max_queued_events")).getFirst().trim());
        try (Inotify inotify = Inotify.open();
                FileChannel a = FileChannel.open(dir.resolve("a"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                FileChannel b = FileChannel.open(dir.resolve("b"), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            inotify.add(dir, EnumSet.of(Kind.MODIFY));
            ByteBuffer one = ByteBuffer.allocate(1);
            // Alternating files: the kernel merges an event only into an identical one just before it.
            for (int i = 0; i < max + 1000; i++) (i % 2 == 0 ? a : b).write(one.clear());
            List<Event> events = readAll(inotify);
            Event last = events.getLast();
            assertEquals(Set.of(Kind.OVERFLOW), last.kinds());
            assertNull(last.watch(), "an overflow belongs to no watch");
            assertNull(last.name());
            assertEquals(1, events.stream().filter(e -> e.kinds().contains(Kind.OVERFLOW)).count());
            assertTrue(events.size() >= max, "the queue held " + events.size() + " events before it overflowed");
        }
    }

    @Test
    void onEventsDeliversBatchesOnTheQueuesThread() {
        IoQueue q = IoQueue.current();
        List<String> seen = new ArrayList<>();
        try (Inotify inotify = Inotify.open()) {
            inotify.add(dir, EnumSet.of(Kind.CREATE, Kind.DELETE));
            Cancellable watch = inotify.onEvents(q, batch -> seen.addAll(describe(batch)));
            q.execute(() -> {
                try {
                    Files.delete(Files.createFile(dir.resolve("note")));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (!seen.contains("DELETE note") && System.nanoTime() < deadline) q.runOnce(Duration.ofMillis(100));
            assertTrue(watch.cancel());
            assertEquals(List.of("CREATE note", "DELETE note"), seen);
        }
    }

    @Test
    void badWatchesAreRefused() {
        try (Inotify inotify = Inotify.open()) {
            assertThrows(IllegalArgumentException.class, () -> inotify.add(dir, Set.of()));
            IllegalArgumentException reported = assertThrows(IllegalArgumentException.class, () -> inotify.add(dir, Set.of(Kind.OVERFLOW)));
            assertTrue(reported.getMessage().contains("OVERFLOW"), reported.getMessage());
            Path missing = dir.resolve("missing");
            SyscallException e = assertThrows(SyscallException.class, () -> inotify.add(missing, Set.of(Kind.CREATE)));
            assertEquals("ENOENT", e.errnoName());
            assertEquals(inotify.fd(), e.fd());
            assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        }
        Inotify closed = Inotify.open();
        closed.close();
        assertThrows(IllegalStateException.class, () -> closed.add(dir, Set.of(Kind.CREATE)));
        assertThrows(IllegalStateException.class, closed::read);
    }

    // guards (cold review 49): a watch that ended while the queue was full lost its IGNORED with the
    // overflow, and stayed known (its descriptor and path) for the instance's life
    @Test
    void aWatchEndedInAnOverflowIsForgottenOnceTheOverflowIsRead(@TempDir Path dir) throws Exception {
        int maxQueued; // read as a stream: Files.readString sizes a /proc file by its stat (0) and gets one byte
        try (var lines = Files.newBufferedReader(Path.of("/proc/sys/fs/inotify/max_queued_events"))) {
            maxQueued = Integer.parseInt(lines.readLine().trim());
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(maxQueued <= 20_000, "max_queued_events " + maxQueued + ": too many files to fill");
        Path f = Files.writeString(dir.resolve("f"), "x");
        Path sub = Files.createDirectory(dir.resolve("sub"));
        try (Inotify in = Inotify.open()) {
            Inotify.Watch ended = in.add(f, EnumSet.of(Kind.MODIFY));
            Inotify.Watch busy = in.add(sub, EnumSet.of(Kind.CREATE));
            for (int i = 0; i <= maxQueued; i++) Files.createFile(sub.resolve("n" + i)); // distinct names: never merged
            Files.delete(f); // its IGNORED cannot be queued: the queue is full
            boolean overflow = false;
            for (List<Event> events; !(events = in.read()).isEmpty(); ) {
                for (Event e : events) {
                    overflow |= e.kinds().contains(Kind.OVERFLOW);
                    assertFalse(e.kinds().contains(Kind.IGNORED) && ended.equals(e.watch()), "its IGNORED came after all");
                }
            }
            assertTrue(overflow);
            var known = Inotify.class.getDeclaredField("watches");
            known.setAccessible(true);
            assertEquals(java.util.Map.of(busy.descriptor(), busy), known.get(in), "the watches it still knows");
        }
    }
}
