// The echo servers' side of the echo sections (echo, vt, uring): each server family runs in a
// child JVM of its own (EchoServerProcess.kt), started once and kept for every trial, so the
// servers' JIT profiles and garbage stay apart from each other and from the load generator, which
// runs in the harness with the same code, threads and connections for every server.
//
// A family's key is its name for EchoServerProcess, or NAME/BACKEND for an ioqueue family whose
// child JVM starts with -Ddev.ioqueue.backend=BACKEND (e.g. "ioqueue-java/io_uring"); other
// families' JVMs get the harness's own dev.ioqueue.backend, if set.
//
// IOQUEUE_BENCH_ECHO_FAMILIES=ioqueue-java,vt-jdk,... keeps only those families' rows (to profile
// or A/B a few), IOQUEUE_BENCH_SERVER_JVM_ARGS adds JVM options to every server's JVM (e.g. JFR's
// -XX:StartFlightRecording=...), IOQUEUE_BENCH_ECHO_CONNECTIONS=256 keeps one connection count, and
// IOQUEUE_BENCH_RAW=1 prints every trial's requests/s and server CPU µs/request on stderr too.
package dev.ioqueue.benchmarks

import java.io.BufferedReader
import java.io.IOException
import java.net.InetAddress
import java.net.InetSocketAddress
import java.nio.file.Files
import java.nio.file.Path
import java.util.Locale
import java.util.concurrent.TimeUnit

/** The load generator's platform threads, for every server. */
internal const val CLIENT_THREADS = 2

/** Bytes per echoed message. */
internal const val MESSAGE_SIZE = 32

/** IOQUEUE_BENCH_ECHO_CONNECTIONS: the connection counts to measure (64 and 256 if unset). */
internal val echoConnectionCounts: List<Int> =
    System.getenv("IOQUEUE_BENCH_ECHO_CONNECTIONS")?.split(',')?.map(String::toInt) ?: listOf(64, 256)

/** IOQUEUE_BENCH_ECHO_FAMILIES: the family keys to keep (null: all). */
internal val keptFamilies: Set<String>? = System.getenv("IOQUEUE_BENCH_ECHO_FAMILIES")?.split(',')?.toSet()

private val RAW = System.getenv("IOQUEUE_BENCH_RAW") == "1"

/**
 * A child JVM running every server of one family; closing our end of its stdin stops it. The child
 * prints `BACKEND <name>` (ioqueue families: what their queues report) and then `PORTS name=port ...`,
 * or `UNAVAILABLE <why>` if it could not start its servers.
 */
internal class ServerFamily(val key: String) : AutoCloseable {
    /** The backend asked for in the key (after '/'), or null for the default. */
    private val requestedBackend: String? = key.substringAfter('/', "").ifEmpty { null }
    private val process: Process

    /** Server name within the family (e.g. "1", "2", "2-reuseport") to its port; empty if [unavailable]. */
    val ports: Map<String, Int>

    /** The backend the family's ioqueue queues report (EPOLL, IO_URING); null for a family without ioqueue. */
    val backend: String?

    /** Why the servers are not running (they could not start, or came up on another backend than asked); null if they run. */
    val unavailable: String?

    init {
        val java = ProcessHandle.current().info().command().orElse("java")
        val extra = System.getenv("IOQUEUE_BENCH_SERVER_JVM_ARGS")?.split(' ')?.filter(String::isNotBlank).orEmpty()
        // The family's own backend, else the harness's (./bench pins the ring, echo and vt sections to epoll).
        val chosen = (requestedBackend ?: System.getProperty(BackendChoice.PROPERTY))?.let { listOf("-D${BackendChoice.PROPERTY}=$it") }.orEmpty()
        // Netty's Unsafe allowed without a warning; ktor's "no SLF4J provider" notice kept quiet.
        val command = listOf(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xms512m", "-Xmx512m",
            "-Dslf4j.internal.verbosity=ERROR") + chosen + extra +
            listOf("-cp", System.getProperty("java.class.path"), "dev.ioqueue.benchmarks.EchoServerProcessKt", key.substringBefore('/'))
        process = ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start()
        val reader = BufferedReader(process.inputReader())
        // Skip what the JVM may print first (JFR's startup notice, with its options).
        var reported: String? = null
        var line: String?
        while (true) {
            line = reader.readLine() ?: error("the $key servers did not start")
            if (line.startsWith("BACKEND ")) reported = line.removePrefix("BACKEND ")
            if (line.startsWith("PORTS ") || line.startsWith("UNAVAILABLE ")) break
        }
        // Drained from now on (to our stderr), or diagnostics such as -XX:+PrintCompilation fill the pipe and stall the servers.
        Thread.ofPlatform().daemon().name("$key-stdout").start { reader.lines().forEach(System.err::println) }
        backend = reported
        val started = line.startsWith("PORTS ")
        ports = if (!started) emptyMap() else
            line.removePrefix("PORTS ").split(' ').filter(String::isNotBlank).associate { it.substringBefore('=') to it.substringAfter('=').toInt() }
        unavailable = when {
            !started -> (requestedBackend?.let { "$it backend not available: " } ?: "") + line.removePrefix("UNAVAILABLE ")
            requestedBackend != null && !requestedBackend.equals(reported, ignoreCase = true) ->
                "$requestedBackend backend not available: the servers' queues came up on ${reported ?: "no backend they reported"}"
            else -> null
        }
        if (unavailable != null) close()
    }

    /** CPU time every live thread of the process has used so far, in nanoseconds (schedstat: exact, not in ticks). */
    fun cpuNanos(): Long = Files.list(Path.of("/proc/${process.pid()}/task")).use { tasks ->
        tasks.mapToLong { task ->
            try {
                Files.readString(task.resolve("schedstat")).substringBefore(' ').toLong()
            } catch (_: IOException) {
                0L // the thread ended meanwhile
            }
        }.sum()
    }

    override fun close() {
        process.outputStream.close()
        if (!process.waitFor(20, TimeUnit.SECONDS)) process.destroyForcibly()
    }
}

/** One server to measure: a table row's [label], the [family] key and the [server] within it, on [loops] loops. */
internal class EchoVariant(val label: String, val family: String, val server: String, val loops: Int)

/** Starts each family the variants name, once. */
internal fun startFamilies(variants: List<EchoVariant>): Map<String, ServerFamily> =
    variants.map { it.family }.distinct().associateWith { ServerFamily(it) }

private fun Map<String, ServerFamily>.address(v: EchoVariant) =
    InetSocketAddress(InetAddress.getLoopbackAddress(), getValue(v.family).ports.getValue(v.server))

/** The closed-loop echo of [messages] messages over [connections] connections. */
internal fun Map<String, ServerFamily>.echo(v: EchoVariant, connections: Int, messages: Long): EchoLoad.Result =
    EchoLoad.run(address(v), connections, CLIENT_THREADS, MESSAGE_SIZE, messages, getValue(v.family)::cpuNanos)

/** [total] connections, [concurrency] at a time, each echoing one message. */
internal fun Map<String, ServerFamily>.churn(v: EchoVariant, concurrency: Int, total: Long): EchoLoad.Result =
    EchoLoad.churn(address(v), concurrency, CLIENT_THREADS, MESSAGE_SIZE, total, getValue(v.family)::cpuNanos)

/** Each variant once at half size, to compile both sides; then [trials] rounds of every variant in turn. */
internal fun measureAll(variants: List<EchoVariant>, trials: Int, what: String, run: (EchoVariant, Double) -> EchoLoad.Result): Map<EchoVariant, List<EchoLoad.Result>> {
    for (v in variants) run(v, 0.5)
    val results = variants.associateWith { ArrayList<EchoLoad.Result>() }
    repeat(trials) {
        for (v in variants) {
            val r = run(v, 1.0)
            check(r.mismatches() == 0L) { "${v.label} echoed wrong bytes" }
            if (RAW) System.err.println(String.format(Locale.ROOT, "raw %s %s/%s %.0f %.2f", what, v.family, v.server, r.perSecond(), r.serverCpuPerRequest() / 1e3))
            results.getValue(v) += r
        }
    }
    return results
}
