// The uring section of ./bench (issue 13), alone with --only uring: ioqueue's io_uring backend
// against the C epoll baseline, the C io_uring reference, the Java floor of that reference and
// Netty's io_uring transport, in the same run. See UringRing.kt (the ring) and UringEcho.kt (TCP echo).
package dev.ioqueue.benchmarks

import java.util.Locale

object UringBench {
    /** The section's name for --only. */
    const val SECTION = "uring"

    /** Runs the ring and the echo on io_uring and prints their tables. */
    fun run(trials: Int, scale: Double) {
        val began = System.nanoTime()
        UringRing.run(trials, scale, began)
        UringEcho.run(trials, scale, began)
        println(String.format(Locale.ROOT, "(uring section: %.0f s)", (System.nanoTime() - began) / 1e9))
        println()
    }
}
