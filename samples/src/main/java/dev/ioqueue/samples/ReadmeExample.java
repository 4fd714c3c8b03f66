// The first Java example of docs/io.md (once at the top of README.md), kept compiling and running by ReadmeExamplesSpec.
package dev.ioqueue.samples;

import dev.ioqueue.Fds;
import dev.ioqueue.IoOperation;
import dev.ioqueue.IoQueue;
import java.nio.ByteBuffer;

public final class ReadmeExample {
    private ReadmeExample() {}

    public static void main(String[] args) {
        IoQueue queue = IoQueue.current();                 // this thread's queue (its own epoll)
        try (Fds.Pipe pipe = Fds.pipe()) {                 // any non-blocking fd works
            ByteBuffer buf = ByteBuffer.allocate(64);
            queue.submit(pipe.readFd(), IoOperation.read(buf, (fd, n) ->   // retried until data comes
                    System.out.println("read " + n + " bytes: " + new String(buf.array(), 0, (int) n))));
            Fds.write(pipe.writeFd(), "hi".getBytes(), 0, 2);
            queue.run();                                   // runs until nothing is pending
        }
    }
}
