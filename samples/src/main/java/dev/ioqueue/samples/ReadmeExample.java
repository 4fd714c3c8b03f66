// The Java example at the top of README.md, kept compiling and running by ReadmeExamplesSpec.
package dev.ioqueue.samples;

import dev.ioqueue.Fds;
import dev.ioqueue.IoQueue;
import dev.ioqueue.ReadyEvent;

public final class ReadmeExample {
    private ReadmeExample() {}

    public static void main(String[] args) {
        IoQueue queue = IoQueue.current();                 // this thread's queue (its own epoll)
        try (Fds.Pipe pipe = Fds.pipe()) {                 // any fd works; this one is non-blocking
            queue.await(pipe.readFd(), ReadyEvent.READ, (fd, events) -> {
                byte[] buf = new byte[64];
                int n = Fds.read(fd, buf, 0, buf.length);  // n, Fds.EOF or Fds.WOULD_BLOCK
                System.out.println("read " + n + " bytes, OS reported " + events);
            });
            Fds.write(pipe.writeFd(), "hi".getBytes(), 0, 2);
            queue.run();                                   // runs until nothing is pending
        }
    }
}
