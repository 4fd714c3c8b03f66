package dev.ioqueue.benchmarks;

import dev.ioqueue.BlockingIo;
import dev.ioqueue.Fds;
import dev.ioqueue.Sockets;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;

/**
 * Echo servers of one virtual thread per connection, blocking reads and writes: on ioqueue's
 * {@link BlockingIo} over fds from {@link Sockets#accept} (a thread that would block parks in
 * {@link Fds#awaitReady}), or on the JDK's own {@link ServerSocket}/{@link Socket}, whose blocking
 * calls park a virtual thread on the JDK's poller. The accepting thread is virtual too.
 */
abstract sealed class VirtualThreadEcho implements AutoCloseable {
    abstract int port();

    static final class OnBlockingIo extends VirtualThreadEcho {
        private final int listenFd = Sockets.listenTcp(InetAddress.getLoopbackAddress(), 0, 1024);
        private final Thread acceptor = Thread.ofVirtual().name("vt-ioqueue-acceptor").start(this::acceptForever);

        private void acceptForever() {
            try {
                while (true) {
                    int fd = BlockingIo.accept(listenFd);
                    Thread.ofVirtual().start(() -> serve(fd));
                }
            } catch (IOException e) {
                // interrupted: closing
            }
        }

        private static void serve(int fd) {
            ByteBuffer buffer = ByteBuffer.allocateDirect(16 * 1024);
            try {
                while (BlockingIo.read(fd, buffer.clear()) != Fds.EOF) BlockingIo.writeFully(fd, buffer.flip());
            } catch (IOException | RuntimeException e) {
                // the client went away (ECONNRESET, EPIPE)
            } finally {
                Fds.close(fd);
            }
        }

        @Override
        int port() {
            return Sockets.localPort(listenFd);
        }

        @Override
        public void close() throws InterruptedException {
            acceptor.interrupt();
            acceptor.join();
            Fds.close(listenFd);
        }
    }

    static final class OnJdkSockets extends VirtualThreadEcho {
        private final ServerSocket server;
        private final Thread acceptor;

        OnJdkSockets() throws IOException {
            server = new ServerSocket(0, 1024, InetAddress.getLoopbackAddress());
            acceptor = Thread.ofVirtual().name("vt-jdk-acceptor").start(this::acceptForever);
        }

        private void acceptForever() {
            try {
                while (true) {
                    Socket s = server.accept();
                    s.setTcpNoDelay(true);
                    Thread.ofVirtual().start(() -> serve(s));
                }
            } catch (IOException e) {
                // the server socket closed
            }
        }

        private static void serve(Socket s) {
            byte[] buffer = new byte[16 * 1024];
            try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
                int n;
                while ((n = in.read(buffer)) >= 0) out.write(buffer, 0, n);
            } catch (IOException e) {
                // the client went away
            }
        }

        @Override
        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }
}
