// The flagship demo: a mixed Java + Kotlin echo server on one thread, driven by real TCP clients.
//
//   ./demo                 starts the server on 127.0.0.1, drives it with 16 concurrent clients
//                          for 3 seconds, prints a report and exits 0
//   ./demo --serve 7000    keeps serving 127.0.0.1:7000 for outside clients (nc, socat, telnet)
//   ./demo --serve [::1]:7000        the same on IPv6 (any IPv6 literal in brackets)
//   ./demo --serve unix:/tmp/echo    the same on a Unix domain socket (socat - UNIX-CONNECT:/tmp/echo)
package dev.ioqueue.samples

import dev.ioqueue.Sockets
import dev.ioqueue.SyscallException
import dev.ioqueue.kotlin.runIoQueue
import java.io.DataInputStream
import java.net.Inet6Address
import java.net.InetAddress
import java.net.Socket
import java.net.UnknownHostException
import java.nio.file.Files
import java.nio.file.Path
import java.util.Locale
import java.util.concurrent.CompletableFuture
import java.util.concurrent.ThreadLocalRandom
import kotlin.system.exitProcess

fun main(args: Array<String>) {
    val argv = args.flatMap { it.split(' ').filter(String::isNotBlank) }
    when {
        argv.isEmpty() -> exitProcess(if (runDemo(clients = 16, seconds = 3.0).ok) 0 else 1)
        argv[0] == "--serve" && argv.size == 2 -> serveForever(parseServeAddress(argv[1]) ?: usage())
        argv.size == 1 && (argv[0] == "--help" || argv[0] == "-h") -> usage(System.out, 0)
        else -> usage()
    }
}

/** One line of usage; exit 2 for bad arguments (./demo --help prints the long help itself). */
private fun usage(to: java.io.PrintStream = System.err, status: Int = 2): Nothing {
    to.println("usage: ./demo [--serve PORT | --serve [IPV6]:PORT | --serve unix:PATH]")
    exitProcess(status)
}

/**
 * What `--serve` takes: `PORT` (on 127.0.0.1), `[IPV6]:PORT` (an IPv6 literal, e.g. `[::1]:7000`)
 * or `unix:PATH` (a Unix domain socket file, which must not exist yet); null for anything else.
 * Never looks a name up.
 */
fun parseServeAddress(arg: String): EchoAddress? {
    fun port(text: String) = text.toIntOrNull()?.takeIf { it in 0..65535 }
    return when {
        arg.startsWith("unix:") -> arg.removePrefix("unix:").takeIf { it.isNotEmpty() }?.let { EchoAddress.Unix(Path.of(it)) }
        arg.startsWith("[") -> {
            val end = arg.indexOf("]:")
            val ip = if (end < 0) null else ipv6Literal(arg.substring(0, end + 1))
            val port = if (end < 0) null else port(arg.substring(end + 2))
            if (ip == null || port == null) null else EchoAddress.Tcp(ip, port)
        }
        else -> port(arg)?.let { EchoAddress.Tcp(InetAddress.getLoopbackAddress(), it) }
    }
}

/** `[::1]` as an address; a bracketed name is parsed as an IPv6 literal only, never resolved. */
private fun ipv6Literal(bracketed: String): InetAddress? =
    try {
        InetAddress.getByName(bracketed).takeIf { it is Inet6Address }
    } catch (_: UnknownHostException) {
        null
    }

private fun serveForever(address: EchoAddress) {
    val listenFd = try {
        address.listen()
    } catch (e: IllegalArgumentException) {
        System.err.println("./demo: ${e.message}")
        exitProcess(2)
    } catch (e: SyscallException) {
        System.err.println("./demo: cannot serve on $address: ${e.message}")
        exitProcess(1)
    }
    if (address is EchoAddress.Unix) Runtime.getRuntime().addShutdownHook(Thread { Files.deleteIfExists(address.path) })
    val bound = Sockets.localAddress(listenFd)?.let { EchoAddress.Tcp(it.address, it.port) } ?: address
    println("ioqueue mixed echo server on $bound, thread ${Thread.currentThread().name}; Ctrl-C stops it")
    runIoQueue { MixedEchoServer(listenFd).serve() }
}

/** What one demo run measured on the client side. */
class DemoResult(val roundTrips: Long, val bytes: Long, val mismatches: Long, val seconds: Double, val stats: EchoStats) {
    val ok: Boolean get() = mismatches == 0L && roundTrips > 0 && stats.threadCount() == 1
}

/** Starts the server on its own loop thread, drives it with [clients] TCP clients, stops it, reports. */
fun runDemo(clients: Int, seconds: Double, print: Boolean = true): DemoResult {
    val server = EchoServerThread()
    val deadline = System.nanoTime() + (seconds * 1e9).toLong()
    val results = (0 until clients).map {
        CompletableFuture.supplyAsync({ echoClient(server.port, deadline) }, { r -> Thread(r, "client").start() })
    }
    val perClient = results.map { it.join() }
    server.awaitAllClosed()
    server.stop() // from this thread: the dispatcher hops the cancellation onto the loop
    val result = DemoResult(perClient.sumOf { it[0] }, perClient.sumOf { it[1] }, perClient.sumOf { it[2] }, seconds, server.stats)
    if (print) printReport(result, clients)
    return result
}

/** One client: random-sized messages, each read back whole and compared. Returns [round trips, bytes, mismatches]. */
private fun echoClient(port: Int, deadline: Long): LongArray {
    val random = ThreadLocalRandom.current()
    var trips = 0L
    var bytes = 0L
    var mismatches = 0L
    Socket(InetAddress.getLoopbackAddress(), port).use { socket ->
        socket.tcpNoDelay = true
        val out = socket.getOutputStream()
        val input = DataInputStream(socket.getInputStream())
        val sent = ByteArray(4096)
        val got = ByteArray(4096)
        while (System.nanoTime() < deadline) {
            val size = 1 + random.nextInt(sent.size)
            random.nextBytes(sent)
            out.write(sent, 0, size)
            input.readFully(got, 0, size)
            if (!sent.copyOf(size).contentEquals(got.copyOf(size))) mismatches++
            trips++
            bytes += size
        }
    }
    return longArrayOf(trips, bytes, mismatches)
}

private fun printReport(r: DemoResult, clients: Int) {
    val conns = r.stats.connections()
    val kotlin = conns.count { it.kind == EchoStats.Kind.KOTLIN_COROUTINE }
    val java = conns.count { it.kind == EchoStats.Kind.JAVA_CALLBACK }
    println("ioqueue mixed echo demo: $clients TCP clients on 127.0.0.1 for ${r.seconds} s against one server thread")
    println(String.format(Locale.ROOT, "  connections   %d  (%d Kotlin coroutines, %d Java IoOperations)", conns.size, kotlin, java))
    println(String.format(Locale.ROOT, "  round trips   %d  (%.0f/s)", r.roundTrips, r.roundTrips / r.seconds))
    println(String.format(Locale.ROOT, "  bytes echoed  %.1f MiB, mismatches %d", r.bytes / 1048576.0, r.mismatches))
    println("  server threads that ran a handler: ${r.stats.threads()}")
    println("  conn  handler            bytes      ended by")
    for (c in conns.sortedBy { it.id }) println(String.format(Locale.ROOT, "  %4d  %-17s %9d   %s", c.id, c.kind, c.bytes(), c.end()))
    println(if (r.ok) "OK" else "FAILED")
}
