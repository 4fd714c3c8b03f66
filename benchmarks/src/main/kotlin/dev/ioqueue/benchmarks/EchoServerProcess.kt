// The child JVM of the echo sections: starts the echo servers of one family, prints their ports on
// one line, serves until its standard input closes (the harness ends, or dies), then stops them.
//
//   java ... dev.ioqueue.benchmarks.EchoServerProcessKt FAMILY
package dev.ioqueue.benchmarks

import dev.ioqueue.samples.EchoServerThread
import dev.ioqueue.samples.LoopStrategy

/** One server of a family: its name within the family, its port, how to stop it. */
private class Running(val name: String, val port: Int, val stop: () -> Unit)

/** The servers of each family the harness asks for, by name within the family. */
private fun start(family: String): List<Running> = when (family) {
    "ioqueue-java" -> listOf(
        JavaCallbackEcho(1, false).let { Running("1", it.port(), it::close) },
        JavaCallbackEcho(2, false).let { Running("2", it.port(), it::close) },
        JavaCallbackEcho(2, true).let { Running("2-reuseport", it.port(), it::close) },
    )
    "ioqueue-kotlin" -> listOf(
        KotlinCoroutineEcho(1, false).let { Running("1", it.port, it::close) },
        KotlinCoroutineEcho(2, false).let { Running("2", it.port, it::close) },
    )
    "netty-epoll", "netty-nio" -> listOf(1, 2).map { loops ->
        NettyEcho(loops, family == "netty-epoll").let { Running("$loops", it.port(), it::close) }
    }
    "ktor" -> listOf(1, 2).map { loops -> KtorEcho(loops).let { Running("$loops", it.port, it::close) } }
    "sample" -> listOf(
        EchoServerThread(loops = 2, strategy = LoopStrategy.ACCEPTOR).let { Running("2-acceptor", it.port, it::stop) },
        EchoServerThread(loops = 2, strategy = LoopStrategy.REUSEPORT).let { Running("2-reuseport", it.port, it::stop) },
    )
    "vt-ioqueue" -> listOf(VirtualThreadEcho.OnBlockingIo().let { Running("vt", it.port(), it::close) })
    "vt-jdk" -> listOf(VirtualThreadEcho.OnJdkSockets().let { Running("vt", it.port(), it::close) })
    else -> error("no echo server family $family")
}

fun main(args: Array<String>) {
    val servers = start(args.single())
    println("PORTS " + servers.joinToString(" ") { "${it.name}=${it.port}" })
    System.out.flush()
    System.`in`.readAllBytes() // until the harness closes our stdin
    for (s in servers) s.stop()
}
