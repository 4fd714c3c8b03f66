// The child JVM of the echo sections: starts the echo servers of one family, prints the backend its
// ioqueue queues run on (BACKEND EPOLL | IO_URING; ioqueue families only) and the servers' ports on
// one line (PORTS name=port ...), serves until its standard input closes (the harness ends, or
// dies), then stops them. If the servers cannot start (e.g. io_uring forced where the kernel
// refuses it), it prints UNAVAILABLE and the reason instead, and ends.
//
//   java [-Ddev.ioqueue.backend=epoll|io_uring] ... dev.ioqueue.benchmarks.EchoServerProcessKt FAMILY
package dev.ioqueue.benchmarks

import dev.ioqueue.IoQueue
import dev.ioqueue.samples.EchoServerThread
import dev.ioqueue.samples.LoopStrategy
import kotlin.system.exitProcess

/** One server of a family: its name within the family, its port, how to stop it, its ioqueue queues (none for a peer). */
private class Running(val name: String, val port: Int, val stop: () -> Unit, val queues: List<IoQueue> = emptyList())

/** The servers of each family the harness asks for, by name within the family. */
private fun start(family: String): List<Running> = when (family) {
    "ioqueue-java" -> listOf(
        JavaCallbackEcho(1, false).let { Running("1", it.port(), it::close, it.queues()) },
        JavaCallbackEcho(2, false).let { Running("2", it.port(), it::close, it.queues()) },
        JavaCallbackEcho(2, true).let { Running("2-reuseport", it.port(), it::close, it.queues()) },
    )
    "ioqueue-kotlin" -> listOf(
        KotlinCoroutineEcho(1, false).let { Running("1", it.port, it::close, it.queues) },
        KotlinCoroutineEcho(2, false).let { Running("2", it.port, it::close, it.queues) },
    )
    "netty-epoll", "netty-nio" -> listOf(1, 2).map { loops ->
        val transport = if (family == "netty-epoll") NettyEcho.Transport.EPOLL else NettyEcho.Transport.NIO
        NettyEcho(loops, transport).let { Running("$loops", it.port(), it::close) }
    }
    "netty-io_uring" -> listOf(NettyEcho(1, NettyEcho.Transport.IO_URING).let { Running("1", it.port(), it::close) })
    "ktor" -> listOf(1, 2).map { loops -> KtorEcho(loops).let { Running("$loops", it.port, it::close) } }
    "ioqueue-ktor" -> listOf(1, 2).map { loops -> KtorAdapterEcho(loops).let { Running("$loops", it.port, it::close, it.queues) } }
    "sample" -> listOf(
        EchoServerThread(loops = 2, strategy = LoopStrategy.ACCEPTOR).let { Running("2-acceptor", it.port, it::stop) },
        EchoServerThread(loops = 2, strategy = LoopStrategy.REUSEPORT).let { Running("2-reuseport", it.port, it::stop) },
    )
    "vt-ioqueue" -> listOf(VirtualThreadEcho.OnBlockingIo().let { Running("vt", it.port(), it::close) })
    "vt-jdk" -> listOf(VirtualThreadEcho.OnJdkSockets().let { Running("vt", it.port(), it::close) })
    else -> error("no echo server family $family")
}

fun main(args: Array<String>) {
    val servers = try {
        start(args.single())
    } catch (e: Throwable) {
        // The harness shows the reason in its table; servers of the family that did start end with this JVM.
        println("UNAVAILABLE ${e.message ?: e}")
        System.out.flush()
        exitProcess(0)
    }
    servers.flatMap { it.queues }.map(BackendChoice::of).distinct().takeIf { it.isNotEmpty() }?.let { println("BACKEND " + it.joinToString(",")) }
    println("PORTS " + servers.joinToString(" ") { "${it.name}=${it.port}" })
    System.out.flush()
    System.`in`.readAllBytes() // until the harness closes our stdin
    for (s in servers) s.stop()
}
