// A TCP echo server written as README.md's lambdas suggest, and nothing more: an accept operation
// whose completion serves each connection with a read and a write-all lambda. No failed() anywhere:
// a peer that resets its connection fails the operation, the queue's failure handler hears it
// (by default a DEBUG log line) and closes the connection's Handle, and the loop goes on.
// ReadmeEchoServerSpec drives it with 1,000 peer resets.
//
//   run: main() below (java ... dev.ioqueue.samples.ReadmeEchoServer [PORT]); Ctrl-C stops it.
package dev.ioqueue.samples;

import dev.ioqueue.Fds;
import dev.ioqueue.Handle;
import dev.ioqueue.IoOperation;
import dev.ioqueue.IoQueue;
import dev.ioqueue.Sockets;
import java.net.InetAddress;
import java.nio.ByteBuffer;

public final class ReadmeEchoServer {
    private ReadmeEchoServer() {}

    /**
     * Accepts on {@code listener} (a listening socket) and echoes every connection, on the calling
     * thread's queue, from the queue's next round until it closes. Each connection is a
     * {@link Handle} bound to that queue, so closing the queue closes them all.
     */
    public static void serve(Handle listener) {
        IoQueue queue = IoQueue.current();
        IoOperation[] accept = new IoOperation[1];
        accept[0] = IoOperation.accept((fd, conn) -> {
            echo(queue, Handle.of((int) conn, queue));
            queue.submit(listener, accept[0]);
        });
        queue.submit(listener, accept[0]);
    }

    /** Reads what comes, writes it all back, reads again; closes at end-of-file. */
    private static void echo(IoQueue queue, Handle conn) {
        ByteBuffer buf = ByteBuffer.allocateDirect(16 * 1024);
        IoOperation[] writeAll = new IoOperation[1];
        IoOperation read = IoOperation.read(buf, (fd, n) -> {
            if (n == Fds.EOF) {
                conn.close();
                return;
            }
            buf.flip();
            queue.submit(conn, writeAll[0]);
        });
        writeAll[0] = IoOperation.writeFully(buf, (fd, n) -> {
            buf.clear();
            queue.submit(conn, read);
        });
        queue.submit(conn, read);
    }

    public static void main(String[] args) {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        IoQueue queue = IoQueue.current();
        Handle listener = Handle.of(Sockets.listenTcp(InetAddress.getLoopbackAddress(), port, 1024), queue);
        serve(listener);
        System.out.println("echo server on 127.0.0.1:" + Sockets.localPort(listener.fd()) + " (" + queue.backend() + "); Ctrl-C stops it");
        queue.run();
    }
}
