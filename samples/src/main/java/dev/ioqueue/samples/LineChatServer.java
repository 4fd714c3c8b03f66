package dev.ioqueue.samples;

import dev.ioqueue.BlockingIo;
import dev.ioqueue.Handle;
import dev.ioqueue.Sockets;
import dev.ioqueue.Streams;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A line chat server on virtual threads, written as one would with the JDK's sockets: a virtual
 * thread per client reads lines with a {@link BufferedReader} over {@link Streams#inputStream};
 * the first line is the client's name, every later line goes to the others as {@code name: line},
 * and {@code /quit} (or end of file) leaves. Try it with {@code nc 127.0.0.1 PORT}.
 *
 * <p>Thread-safe: {@link #close()} from any thread closes the listener and every client.
 */
public final class LineChatServer implements AutoCloseable {
    private final Handle listener;
    private final int port;
    private final Set<Client> clients = ConcurrentHashMap.newKeySet();

    private LineChatServer(Handle listener, int port) {
        this.listener = listener;
        this.port = port;
    }

    /** Listens on {@code address:port} (0: a free port) and accepts on a virtual thread. */
    public static LineChatServer start(InetAddress address, int port) {
        int fd = Sockets.listenTcp(address, port, 128);
        LineChatServer server = new LineChatServer(Handle.of(fd), Sockets.localPort(fd));
        Thread.ofVirtual().name("chat-accept").start(server::acceptLoop);
        return server;
    }

    /** The port it listens on. */
    public int port() {
        return port;
    }

    private void acceptLoop() {
        try {
            while (true) {
                Client c = new Client(BlockingIo.accept(listener));
                Thread.ofVirtual().name("chat-client").start(c::serve);
            }
        } catch (IOException | IllegalStateException closed) {
            // the listener was closed: stop accepting
        }
    }

    /** One connection: its reader runs on its own virtual thread; others write to it under its lock. */
    private final class Client {
        final Handle handle;
        final OutputStream out;
        String name;

        Client(Handle handle) {
            this.handle = handle;
            this.out = Streams.outputStream(handle);
        }

        void serve() {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(Streams.inputStream(handle), StandardCharsets.UTF_8))) {
                name = in.readLine();
                if (name == null || name.isBlank()) return;
                send("* welcome, " + name);
                clients.add(this);
                broadcast("* " + name + " joined");
                for (String line; (line = in.readLine()) != null && !line.equals("/quit"); ) {
                    broadcast(name + ": " + line);
                }
            } catch (IOException e) {
                // a reset or a close: this client is gone
            } finally {
                if (clients.remove(this)) broadcast("* " + name + " left");
                handle.close();
            }
        }

        /** Writes one line; a client that cannot take it is closed. */
        synchronized void send(String line) {
            try {
                out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            } catch (IOException | IllegalStateException e) {
                handle.close();
            }
        }

        void broadcast(String line) {
            for (Client c : clients) if (c != this) c.send(line);
        }
    }

    @Override
    public void close() {
        listener.close();
        for (Client c : clients) c.handle.close();
    }

    /** {@code LineChatServer [port]}: serves on 127.0.0.1 until killed. */
    public static void main(String[] args) throws InterruptedException {
        LineChatServer server = start(InetAddress.getLoopbackAddress(), args.length > 0 ? Integer.parseInt(args[0]) : 7007);
        System.out.println("chat on 127.0.0.1:" + server.port() + " (nc 127.0.0.1 " + server.port() + ")");
        Thread.currentThread().join();
    }
}
