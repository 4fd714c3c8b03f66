// Bringing your own fd: what docs/io.md's "Bringing your own fd" section walks through, kept
// compiling and running by ForeignFdsSpec.
package dev.ioqueue.samples;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.ioqueue.Fds;
import dev.ioqueue.IoOperation;
import dev.ioqueue.IoQueue;
import dev.ioqueue.PidFd;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * Two fds ioqueue did not make: one a "native library" opens (here our own FFM downcall to
 * {@code open(2)}, blocking, as most libraries open them), and the read end of a FIFO that a child
 * process writes to, whose exit a {@link PidFd} reports. Each is non-blocking before it is read with
 * {@link IoOperation}s; nothing here handles EAGAIN.
 */
public final class ForeignFds {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle OPEN = LINKER.downcallHandle(LINKER.defaultLookup().find("open").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle MKFIFO = LINKER.downcallHandle(LINKER.defaultLookup().find("mkfifo").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final int O_RDONLY = 0;
    private static final int O_WRONLY = 1;
    private static final int O_NONBLOCK = 0x800;

    private ForeignFds() {}

    /** What the sample saw. */
    public record Report(boolean deviceWasBlocking, int randomBytes, String fromChild, int childExit) {}

    public static void main(String[] args) throws Throwable {
        System.out.println(run(Path.of(System.getProperty("java.io.tmpdir"))));
    }

    public static Report run(Path scratchDir) throws Throwable {
        IoQueue queue = IoQueue.current();

        // 1. An fd handed over by a library: blocking, so the queue would refuse it. Make it
        //    non-blocking (a flag of the open file: every holder of this file sees it), then read.
        int device = open("/dev/urandom", O_RDONLY);
        boolean wasBlocking = !Fds.isNonBlocking(device);
        Fds.setNonBlocking(device, true);
        Fds.setCloseOnExec(device, true); // children must not inherit it
        ByteBuffer random = ByteBuffer.allocate(16);
        int[] got = {0};
        queue.submit(device, IoOperation.readFully(random, (fd, n) -> got[0] = (int) n));
        queue.run();
        Fds.close(device);

        // 2. A child process writes into a FIFO. Both ends are opened non-blocking: ours to read,
        //    and one to write that keeps the FIFO from reading as EOF before the child opens it.
        //    When the child exits (seen through a pidfd, no thread waits for it), that end is
        //    closed, and the reader gets what is left, then EOF.
        Path fifo = scratchDir.resolve("ioqueue-fifo-" + ProcessHandle.current().pid());
        mkfifo(fifo);
        try {
            int reader = open(fifo.toString(), O_RDONLY | O_NONBLOCK);
            int keeper = open(fifo.toString(), O_WRONLY | O_NONBLOCK);
            Process child = new ProcessBuilder("sh", "-c", "printf 'hello from pid %s' $$ > " + fifo).start();
            ByteArrayOutputStream text = new ByteArrayOutputStream();
            ByteBuffer chunk = ByteBuffer.allocate(256);
            IoOperation[] read = new IoOperation[1];
            read[0] = IoOperation.read(chunk, (fd, n) -> {
                if (n == Fds.EOF) return;            // the child has exited and every byte is read
                text.write(chunk.array(), 0, (int) n);
                chunk.clear();
                queue.submit(fd, read[0]);
            });
            queue.submit(reader, read[0]);
            try (PidFd exited = PidFd.of(child)) {
                exited.onExit(queue, () -> Fds.close(keeper));
                queue.run();
            }
            Fds.close(reader);
            return new Report(wasBlocking, got[0], text.toString(), child.exitValue());
        } finally {
            java.nio.file.Files.deleteIfExists(fifo);
        }
    }

    private static int open(String path, int flags) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) OPEN.invokeExact(arena.allocateFrom(path), flags);
            if (fd < 0) throw new IllegalStateException("open(" + path + ") failed");
            return fd;
        }
    }

    private static void mkfifo(Path path) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            if ((int) MKFIFO.invokeExact(arena.allocateFrom(path.toString()), 0600) != 0) {
                throw new IllegalStateException("mkfifo(" + path + ") failed");
            }
        }
    }
}
