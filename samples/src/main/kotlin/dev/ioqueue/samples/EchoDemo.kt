// The flagship demo: a mixed Java + Kotlin echo server on one thread, driven by real TCP clients.
//
//   ./demo                 starts the server on 127.0.0.1, drives it with 16 concurrent clients
//                          for 3 seconds, prints a report and exits 0
//   ./demo --serve 7000    keeps serving 127.0.0.1:7000 for outside clients (nc, socat, telnet)
//   ./demo --serve [::1]:7000        the same on IPv6 (any IPv6 literal in brackets)
//   ./demo --serve unix:/tmp/echo    the same on a Unix domain socket (socat - UNIX-CONNECT:/tmp/echo)
//   ./demo --loops 2       the same server spread over 2 loop threads (either form above): the first
//                          loop accepts and hands each connection to the next loop; with --reuseport
//                          each loop accepts on its own SO_REUSEPORT listener instead (TCP only)
package dev.ioqueue.samples

import dev.ioqueue.SyscallException
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
    if (argv.size == 1 && (argv[0] == "--help" || argv[0] == "-h")) usage(System.out, 0)
    val options = parseDemoArgs(argv) ?: usage()
    when (val address = options.serve) {
        null -> exitProcess(if (runDemo(clients = 16, seconds = 3.0, loops = options.loops, strategy = options.strategy).ok) 0 else 1)
        else -> serveForever(address, options.loops, options.strategy)
    }
}

/** One line of usage; exit 2 for bad arguments (./demo --help prints the long help itself). */
private fun usage(to: java.io.PrintStream = System.err, status: Int = 2): Nothing {
    to.println("usage: ./demo [--serve PORT | --serve [IPV6]:PORT | --serve unix:PATH]") // --loops N [--reuseport | --acceptor] too: see the top of this file
    exitProcess(status)
}

/** What the demo's arguments ask for: where to serve (null: run the demo), on how many loops, spread how. */
data class DemoOptions(val serve: EchoAddress?, val loops: Int = 1, val strategy: LoopStrategy = LoopStrategy.DEFAULT)

/** `[--serve ADDRESS] [--loops N] [--reuseport | --acceptor]`, in any order; null for anything else. */
fun parseDemoArgs(argv: List<String>): DemoOptions? {
    var options = DemoOptions(null)
    var i = 0
    while (i < argv.size) {
        when (argv[i]) {
            "--serve" -> options = options.copy(serve = argv.getOrNull(++i)?.let(::parseServeAddress) ?: return null)
            "--loops" -> options = options.copy(loops = argv.getOrNull(++i)?.toIntOrNull()?.takeIf { it in 1..1024 } ?: return null)
            "--reuseport" -> options = options.copy(strategy = LoopStrategy.REUSEPORT)
            "--acceptor" -> options = options.copy(strategy = LoopStrategy.ACCEPTOR)
            else -> return null
        }
        i++
    }
    if (options.strategy == LoopStrategy.REUSEPORT && options.serve is EchoAddress.Unix) return null
    return options
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

private fun serveForever(address: EchoAddress, loops: Int, strategy: LoopStrategy) {
    val server = try {
        EchoServerThread(address, loops = loops, strategy = strategy)
    } catch (e: IllegalArgumentException) {
        System.err.println("./demo: ${e.message}")
        exitProcess(2)
    } catch (e: SyscallException) {
        System.err.println("./demo: cannot serve on $address: ${e.message}")
        exitProcess(1)
    }
    if (address is EchoAddress.Unix) Runtime.getRuntime().addShutdownHook(Thread { Files.deleteIfExists(address.path) })
    val bound = server.inetAddress?.let { EchoAddress.Tcp(it.address, it.port) } ?: address
    val how = if (loops == 1) "" else " (${strategy.name.lowercase(Locale.ROOT)})"
    println("ioqueue mixed echo server on $bound, thread${if (loops == 1) "" else "s"} ${server.threadNames.joinToString()}$how; Ctrl-C stops it")
    Thread.currentThread().join() // the loops serve until the process is stopped
}

/** What one demo run measured on the client side, and the backend the server's loops ran on ("epoll" or "io_uring"). */
class DemoResult(val roundTrips: Long, val bytes: Long, val mismatches: Long, val seconds: Double, val stats: EchoStats, val loops: Int = 1, val backend: String = "") {
    val ok: Boolean get() = mismatches == 0L && roundTrips > 0 && stats.threadCount() == loops
}

/** Starts the server on [loops] loop threads of its own, drives it with [clients] TCP clients, stops it, reports. */
fun runDemo(clients: Int, seconds: Double, print: Boolean = true, loops: Int = 1, strategy: LoopStrategy = LoopStrategy.DEFAULT): DemoResult {
    val server = EchoServerThread(loops = loops, strategy = strategy)
    val deadline = System.nanoTime() + (seconds * 1e9).toLong()
    val results = (0 until clients).map {
        CompletableFuture.supplyAsync({ echoClient(server.port, deadline) }, { r -> Thread(r, "client").start() })
    }
    val perClient = results.map { it.join() }
    server.awaitAllClosed()
    server.stop() // from this thread: the dispatcher hops the cancellation onto the loop
    val result = DemoResult(perClient.sumOf { it[0] }, perClient.sumOf { it[1] }, perClient.sumOf { it[2] }, seconds, server.stats, loops, server.backend)
    if (print) printReport(result, clients, strategy)
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

private fun printReport(r: DemoResult, clients: Int, strategy: LoopStrategy) {
    val conns = r.stats.connections()
    val kotlin = conns.count { it.kind == EchoStats.Kind.KOTLIN_COROUTINE }
    val java = conns.count { it.kind == EchoStats.Kind.JAVA_CALLBACK }
    val against = if (r.loops == 1) "one server thread" else "${r.loops} server loops (${strategy.name.lowercase(Locale.ROOT)})"
    println("ioqueue mixed echo demo: $clients TCP clients on 127.0.0.1 for ${r.seconds} s against $against")
    println("  backend       ${r.backend}")
    println(String.format(Locale.ROOT, "  connections   %d  (%d Kotlin coroutines, %d Java IoOperations)", conns.size, kotlin, java))
    println(String.format(Locale.ROOT, "  round trips   %d  (%.0f/s)", r.roundTrips, r.roundTrips / r.seconds))
    println(String.format(Locale.ROOT, "  bytes echoed  %.1f MiB, mismatches %d", r.bytes / 1048576.0, r.mismatches))
    println("  server threads that ran a handler: ${r.stats.threads()}")
    println("  conn  handler            bytes      ended by")
    for (c in conns.sortedBy { it.id }) println(String.format(Locale.ROOT, "  %4d  %-17s %9d   %s", c.id, c.kind, c.bytes(), c.end()))
    println(if (r.ok) "OK" else "FAILED")
}
