package dev.ioqueue;

import dev.ioqueue.internal.io.DatagramIo;
import dev.ioqueue.internal.os.SockAddr;
import java.io.IOException;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * Datagram sends and receives as {@link IoOperation}s for a loop: submit one with
 * {@link IoQueue#submit(Handle, IoOperation)} (or on a plain fd); it is tried at once and retried
 * whenever the socket is ready, on readiness on every backend (never the ring, which would merge
 * messages). Reusable once completed, like every operation. Owner thread of its queue.
 */
public final class DatagramOperation {
    private DatagramOperation() {}

    /** What a receive operation reports to, on its queue's owner thread. */
    public interface Received {
        /** One datagram came: {@code dst}'s position advanced by {@link Datagram#stored()}. */
        void received(int fd, Datagram datagram);

        /** Its syscall failed; by default the queue's {@link FailureHandler} hears it (a handle it ran on is closed). */
        default void failed(int fd, IOException failure) {
            IoQueue.unhandledFailure(fd, failure);
        }

        /** The queue dropped it (fd closed or unregistered, queue closed). */
        default void dropped(int fd) {}
    }

    /**
     * Receives one datagram into {@code dst} from its position; a longer one is reported truncated
     * ({@link Datagram#truncated()}).
     */
    public static IoOperation receive(ByteBuffer dst, Received done) {
        Objects.requireNonNull(dst, "dst");
        Objects.requireNonNull(done, "done");
        if (dst.isReadOnly()) throw new java.nio.ReadOnlyBufferException();
        return new IoOperation(ReadyEvent.READ) {
            private Datagram last;
            /** The last attempt found nothing: one that finds nothing again follows a wake-up. */
            private boolean blocked;

            @Override
            protected long attempt(int fd) {
                Datagram d = Datagrams.of(DatagramIo.tryReceive(fd, dst));
                if (d == null) {
                    if (blocked && DatagramIo.inputShutdown(fd)) {
                        blocked = false;
                        throw new java.io.UncheckedIOException(DatagramIo.inputShutdownFailure(fd)); // its failure, not a spin
                    }
                    blocked = true;
                    return Fds.WOULD_BLOCK;
                }
                blocked = false;
                last = d;
                return d.length();
            }

            @Override
            protected void completed(int fd, long result) {
                Datagram d = last;
                last = null;
                blocked = false;
                // Nothing received but the socket hung up (both sides shut down): a receive no longer waits.
                if (d == null) done.failed(fd, DatagramIo.inputShutdownFailure(fd));
                else done.received(fd, d);
            }

            @Override
            protected void failed(int fd, IOException failure) {
                done.failed(fd, failure);
            }

            @Override
            protected void dropped(int fd) {
                done.dropped(fd);
            }
        };
    }

    /**
     * Sends {@code src}'s remaining bytes as one datagram to {@code target} (null: the connected
     * peer): completes with the count. The target is checked here, before any syscall. An
     * unconnected Unix datagram socket whose peer's queue is full fails with EAGAIN when readiness
     * said room and the send still found none (the kernel cannot report room in an unconnected
     * peer's queue; a wait would spin the loop): retry it later, or connect the socket. A connected
     * Unix socket and a UDP socket wait for room.
     */
    public static IoOperation send(ByteBuffer src, SocketAddress target, IoCompletion done) {
        Objects.requireNonNull(src, "src");
        Objects.requireNonNull(done, "done");
        SockAddr to = Datagrams.target(target);
        return new IoOperation(ReadyEvent.WRITE) {
            /** The last attempt found no room: one that finds none again follows a wake-up that said room. */
            private boolean blocked;

            @Override
            protected long attempt(int fd) {
                int n = DatagramIo.trySend(fd, src, to);
                if (n != Fds.WOULD_BLOCK) {
                    blocked = false;
                    return n;
                }
                if (blocked && DatagramIo.roomUnreported(fd)) { // an unconnected Unix socket's full peer: readiness would spin the loop
                    n = DatagramIo.trySend(fd, src, to); // poll said room just now: once more, before failing
                    blocked = false;
                    if (n != Fds.WOULD_BLOCK) return n;
                    throw new java.io.UncheckedIOException(DatagramIo.sendWithoutRoom(fd));
                }
                blocked = true;
                return n;
            }

            @Override
            protected void completed(int fd, long result) {
                done.completed(fd, result);
            }

            @Override
            protected void failed(int fd, IOException failure) {
                blocked = false;
                done.failed(fd, failure);
            }

            @Override
            protected void dropped(int fd) {
                blocked = false;
                done.dropped(fd);
            }
        };
    }
}
