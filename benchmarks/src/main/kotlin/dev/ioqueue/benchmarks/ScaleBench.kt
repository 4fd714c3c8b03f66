// The scale sections of ./bench (issue 12), each runnable alone with --only:
//   echo  TCP echo on 127.0.0.1, 64 and 256 connections, closed loop, 32-byte messages, one load
//         generator for every server; servers on 1 and 2 loops: ioqueue Java IoOperation, ioqueue
//         Kotlin read/writeFully, Netty epoll, Netty NIO, ktor sockets; and on 2 loops the two ways
//         of spreading connections (one acceptor, SO_REUSEPORT listeners), in ioqueue Java and in
//         the sample MixedEchoServer
//   vt    virtual threads: echo with one virtual thread per connection on ioqueue's BlockingIo vs
//         the JDK's sockets; 10,000 virtual threads parked on their own eventfds, woken in a
//         random order (wake-ups/s, pinned carriers)
//
// IOQUEUE_BENCH_ECHO_FAMILIES=ioqueue-java,vt-jdk,... keeps only those server families' rows (to
// profile or A/B a few), and IOQUEUE_BENCH_SERVER_JVM_ARGS adds JVM options to every server's JVM
// (e.g. JFR's -XX:StartFlightRecording=...); IOQUEUE_BENCH_ECHO_CONNECTIONS=256 keeps one count.
//
// Each server family runs in a child JVM of its own, started once and kept for every trial: the
// servers' JIT profiles and garbage stay apart from each other and from the load generator, which
// runs here with the same code, the same 2 threads and the same connections for every server. The
// machine has 2 cores: the load generator competes with the server for them (it makes as many
// syscalls per message as the server does), so these are numbers of the pair, with the client's
// share the same for every server.
package dev.ioqueue.benchmarks

import java.io.BufferedReader
import java.io.IOException
import java.nio.file.Files
import java.nio.file.Path
import java.net.InetAddress
import java.net.InetSocketAddress
import java.util.Locale
import java.util.concurrent.TimeUnit

object ScaleBench {
    /** The sections this file runs, as --only names them. */
    val SECTIONS = listOf("echo", "vt")

    /** IOQUEUE_BENCH_RAW=1: every echo trial's requests/s and server CPU µs/request on stderr too, for paired comparisons. */
    private val RAW = System.getenv("IOQUEUE_BENCH_RAW") == "1"
    /** IOQUEUE_BENCH_ECHO_CONNECTIONS=256: only those connection counts (64 and 256 if unset). */
    private val connectionCounts = System.getenv("IOQUEUE_BENCH_ECHO_CONNECTIONS")?.split(',')?.map(String::toInt) ?: listOf(64, 256)

    /** IOQUEUE_BENCH_ECHO_FAMILIES: the server families to keep (all if unset). */
    private val kept = System.getenv("IOQUEUE_BENCH_ECHO_FAMILIES")?.split(',')?.toSet()
    private const val CLIENT_THREADS = 2
    private const val MESSAGE_SIZE = 32
    private const val CHURN_CONCURRENCY = 64
    private const val PARKED_THREADS = 10_000

    /** Runs the sections of [only] (null: all of them). */
    fun run(only: Set<String>?, trials: Int, scale: Double) {
        if (only == null || "echo" in only) echo(trials, scale)
        if (only == null || "vt" in only) virtualThreads(trials, scale)
    }

    // ---- the server families, one child JVM each ----

    /** A child JVM running every server of one family (see EchoServerProcess.kt); closing our end of its stdin stops it. */
    private class Family(val name: String) : AutoCloseable {
        private val process: Process
        /** Server name within the family (e.g. "1", "2", "2-reuseport") to its port. */
        val ports: Map<String, Int>

        init {
            val java = ProcessHandle.current().info().command().orElse("java")
            val extra = System.getenv("IOQUEUE_BENCH_SERVER_JVM_ARGS")?.split(' ')?.filter(String::isNotBlank).orEmpty()
            // Netty's Unsafe allowed without a warning; ktor's "no SLF4J provider" notice kept quiet.
            val command = listOf(java, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xms512m", "-Xmx512m",
                "-Dslf4j.internal.verbosity=ERROR") + extra + listOf("-cp", System.getProperty("java.class.path"), "dev.ioqueue.benchmarks.EchoServerProcessKt", name)
            process = ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start()
            val reader = BufferedReader(process.inputReader())
            // Skip what the JVM may print first (JFR's startup notice, with its options).
            val line = generateSequence { reader.readLine() }.firstOrNull { it.startsWith("PORTS ") } ?: error("the $name servers did not start")
            // Drained from now on (to our stderr), or diagnostics such as -XX:+PrintCompilation fill the pipe and stall the servers.
            Thread.ofPlatform().daemon().name("$name-stdout").start { reader.lines().forEach(System.err::println) }
            ports = line.removePrefix("PORTS ").split(' ').associate { it.substringBefore('=') to it.substringAfter('=').toInt() }
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

    private class Variant(val label: String, val family: String, val server: String, val loops: Int)

    private fun Map<String, Family>.address(v: Variant) = InetSocketAddress(InetAddress.getLoopbackAddress(), getValue(v.family).ports.getValue(v.server))

    /** The closed-loop echo of [messages] messages over [connections] connections. */
    private fun Map<String, Family>.echo(v: Variant, connections: Int, messages: Long): EchoLoad.Result =
        EchoLoad.run(address(v), connections, CLIENT_THREADS, MESSAGE_SIZE, messages, getValue(v.family)::cpuNanos)

    /** [total] connections, [CHURN_CONCURRENCY] at a time, each echoing one message. */
    private fun Map<String, Family>.churn(v: Variant, total: Long): EchoLoad.Result =
        EchoLoad.churn(address(v), CHURN_CONCURRENCY, CLIENT_THREADS, MESSAGE_SIZE, total, getValue(v.family)::cpuNanos)

    /** Each variant once at half size, to compile both sides; then [trials] rounds of every variant in turn. */
    private fun measureAll(variants: List<Variant>, trials: Int, what: String, run: (Variant, Double) -> EchoLoad.Result): Map<Variant, List<EchoLoad.Result>> {
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

    private fun median(values: List<Double>) = values.sorted().let { if (it.size % 2 == 1) it[it.size / 2] else (it[it.size / 2 - 1] + it[it.size / 2]) / 2 }

    private fun rate(x: Double): String = when {
        x >= 1e6 -> String.format(Locale.ROOT, "%.2fM", x / 1e6)
        x >= 1e3 -> String.format(Locale.ROOT, "%.1fk", x / 1e3)
        else -> String.format(Locale.ROOT, "%.1f", x)
    }

    private fun micros(nanos: Double) = String.format(Locale.ROOT, "%.0f", nanos / 1e3)

    private fun cpu(nanos: Double) = String.format(Locale.ROOT, "%.1f", nanos / 1e3)

    /** "median (min–max)" of [values], each shown by [unit]. */
    private fun spread(values: List<Double>, unit: (Double) -> String) = "${unit(median(values))} (${unit(values.min())}–${unit(values.max())})"

    private fun ratio(a: Double?, b: Double?) = if (a == null || b == null) "–" else String.format(Locale.ROOT, "%.2f", a / b)

    private fun target(label: String, a: Double?, b: Double?, goal: Double?) {
        val r = if (a == null || b == null) null else a / b
        val verdict = when {
            r == null -> "n/a"
            goal == null -> "for reference"
            r >= goal -> "met"
            else -> "MISSED"
        }
        println("| $label | ${r?.let { String.format(Locale.ROOT, "%.2f", it) } ?: "n/a"} | ${goal?.let { String.format(Locale.ROOT, "≥ %.2f", it) } ?: "–"} | $verdict |")
    }

    // ---- echo ----

    private const val JAVA = "ioqueue Java IoOperation"
    private const val KOTLIN = "ioqueue Kotlin read/writeFully"
    private const val EPOLL = "Netty epoll"
    private const val NIO = "Netty NIO"
    private const val KTOR = "ktor sockets"
    private const val JAVA_REUSEPORT = "ioqueue Java IoOperation, SO_REUSEPORT"
    private const val SAMPLE_ACCEPTOR = "sample MixedEchoServer, acceptor"
    private const val SAMPLE_REUSEPORT = "sample MixedEchoServer, SO_REUSEPORT"

    private fun echo(trials: Int, scale: Double) {
        val messages = (30_000 * scale).toLong().coerceAtLeast(1000)
        val began = System.nanoTime()
        val allVariants = buildList {
            for (loops in 1..2) {
                add(Variant(JAVA, "ioqueue-java", "$loops", loops))
                add(Variant(KOTLIN, "ioqueue-kotlin", "$loops", loops))
                add(Variant(EPOLL, "netty-epoll", "$loops", loops))
                add(Variant(NIO, "netty-nio", "$loops", loops))
                add(Variant(KTOR, "ktor", "$loops", loops))
            }
            add(Variant(JAVA_REUSEPORT, "ioqueue-java", "2-reuseport", 2))
            add(Variant(SAMPLE_ACCEPTOR, "sample", "2-acceptor", 2))
            add(Variant(SAMPLE_REUSEPORT, "sample", "2-reuseport", 2))
        }
        val variants = if (kept == null) allVariants else allVariants.filter { it.family in kept }
        val families = variants.map { it.family }.distinct().associateWith { Family(it) }
        // Not the sample: it allocates a 64 KiB direct buffer per connection, and freeing them
        // through the GC (System.gc() once the direct-memory limit is reached) dominates its churn.
        val churnVariants = variants.filter { it.loops == 2 && it.label in setOf(JAVA, JAVA_REUSEPORT, EPOLL) }
        val connectionsPerRun = (4_000 * scale).toLong().coerceAtLeast(200)
        val (byConnections, churned) = try {
            connectionCounts.associateWith { conns ->
                measureAll(variants, trials, "$conns") { v, part -> families.echo(v, conns, (messages * part).toLong()) }
            } to measureAll(churnVariants, trials, "churn") { v, part -> families.churn(v, (connectionsPerRun * part).toLong()) }
        } finally {
            families.values.forEach { it.close() }
        }
        println("## TCP echo ($MESSAGE_SIZE-byte messages, closed loop, $messages per run; $trials trials, interleaved)")
        println()
        println("One load generator for every server: $CLIENT_THREADS platform threads, NIO selectors, each connection sends,")
        println("waits for the whole echo, records the round trip (HdrHistogram), sends again. Each server family runs in")
        println("a child JVM of its own. On 2 cores the client's threads compete with the server's loops for the CPU.")
        println("Server CPU: what the server's JVM used (all its threads, from /proc schedstat) between the first message and")
        println("the last echo, per request: steadier than requests/s when other work shares the machine.")
        println()
        println("| conns | loops | server | requests/s | p50 µs | p99 µs | server CPU µs/request | ÷ Netty epoll | ÷ ktor |")
        println("|---|---|---|---|---|---|---|---|---|")
        fun runs(conns: Int, loops: Int, label: String) =
            byConnections.getValue(conns).entries.firstOrNull { it.key.loops == loops && it.key.label == label }?.value
        fun perSecond(conns: Int, loops: Int, label: String) = runs(conns, loops, label)?.map { it.perSecond() }?.let(::median)
        fun cpuPerRequest(conns: Int, loops: Int, label: String) = runs(conns, loops, label)?.map { it.serverCpuPerRequest() }?.let(::median)
        for ((conns, results) in byConnections) {
            for ((v, runs) in results) {
                val rates = runs.map { it.perSecond() }
                println("| $conns | ${v.loops} | ${v.label} | ${spread(rates, ::rate)} | ${spread(runs.map { it.p50().toDouble() }, ::micros)} | " +
                    "${spread(runs.map { it.p99().toDouble() }, ::micros)} | ${spread(runs.map { it.serverCpuPerRequest() }, ::cpu)} | " +
                    "${ratio(median(rates), perSecond(conns, v.loops, EPOLL))} | " +
                    "${ratio(median(rates), perSecond(conns, v.loops, KTOR))} |")
            }
        }
        println()
        println("| ratio of medians, same run | value | target | |")
        println("|---|---|---|---|")
        for (conns in byConnections.keys) for (loops in 1..2) {
            val java = perSecond(conns, loops, JAVA)
            val kotlin = perSecond(conns, loops, KOTLIN)
            val epoll = perSecond(conns, loops, EPOLL)
            target("$conns conns, $loops loop${if (loops > 1) "s" else ""}: Java IoOperation / Netty epoll", java, epoll, 1.0)
            target("$conns conns, $loops loop${if (loops > 1) "s" else ""}: Kotlin / Netty epoll", kotlin, epoll, 0.9)
            target("$conns conns, $loops loop${if (loops > 1) "s" else ""}: Kotlin / ktor", kotlin, perSecond(conns, loops, KTOR), 2.0)
        }
        for (conns in byConnections.keys) for (loops in 1..2) {
            // Server CPU per request is the steadier measure on a busy 2-core machine: peer's / ours, above 1 = ours is cheaper.
            val at = "$conns conns, $loops loop${if (loops > 1) "s" else ""}: server CPU per request,"
            target("$at Netty epoll / Java IoOperation", cpuPerRequest(conns, loops, EPOLL), cpuPerRequest(conns, loops, JAVA), null)
            target("$at Netty epoll / Kotlin", cpuPerRequest(conns, loops, EPOLL), cpuPerRequest(conns, loops, KOTLIN), null)
        }
        for (conns in byConnections.keys) {
            target("$conns conns, 2 loops: Java, acceptor / SO_REUSEPORT, requests/s", perSecond(conns, 2, JAVA), perSecond(conns, 2, JAVA_REUSEPORT), null)
            target("$conns conns, 2 loops: Java, SO_REUSEPORT / acceptor, server CPU per request", cpuPerRequest(conns, 2, JAVA_REUSEPORT), cpuPerRequest(conns, 2, JAVA), null)
            target("$conns conns, 2 loops: sample, acceptor / SO_REUSEPORT, requests/s", perSecond(conns, 2, SAMPLE_ACCEPTOR), perSecond(conns, 2, SAMPLE_REUSEPORT), null)
            target("$conns conns, 2 loops: sample, SO_REUSEPORT / acceptor, server CPU per request", cpuPerRequest(conns, 2, SAMPLE_REUSEPORT), cpuPerRequest(conns, 2, SAMPLE_ACCEPTOR), null)
            target("$conns conns: Java IoOperation, 2 loops / 1 loop, requests/s", perSecond(conns, 2, JAVA), perSecond(conns, 1, JAVA), null)
        }
        println()
        if (churned.isNotEmpty()) {
            println("## Connection churn, 2 loops ($CHURN_CONCURRENCY clients at a time: connect, echo one message, close; $connectionsPerRun connections per run)")
            println()
            println("What tells the two ways of spreading connections apart: with a fixed set of connections (above) no")
            println("accept happens while the clock runs. Latency: from connect to the echo.")
            println()
            println("| server | connections/s | p50 µs | p99 µs | server CPU µs/connection |")
            println("|---|---|---|---|---|")
            for ((v, runs) in churned) {
                println("| ${v.label} | ${spread(runs.map { it.perSecond() }, ::rate)} | ${spread(runs.map { it.p50().toDouble() }, ::micros)} | " +
                    "${spread(runs.map { it.p99().toDouble() }, ::micros)} | ${spread(runs.map { it.serverCpuPerRequest() }, ::cpu)} |")
            }
            println()
        }
        println(String.format(Locale.ROOT, "(echo section: %.0f s)", (System.nanoTime() - began) / 1e9))
        println()
    }

    // ---- virtual threads ----

    private const val VT_IOQUEUE = "ioqueue BlockingIo (Sockets.accept fds)"
    private const val VT_JDK = "JDK ServerSocket/Socket"

    private fun virtualThreads(trials: Int, scale: Double) {
        val began = System.nanoTime()
        val messages = (30_000 * scale).toLong().coerceAtLeast(1000)
        val variants = listOf(Variant(VT_IOQUEUE, "vt-ioqueue", "vt", 0), Variant(VT_JDK, "vt-jdk", "vt", 0)).filter { kept == null || it.family in kept }
        val families = variants.map { it.family }.distinct().associateWith { Family(it) }
        val byConnections = try {
            connectionCounts.associateWith { conns ->
                measureAll(variants, trials, "vt$conns") { v, part -> families.echo(v, conns, (messages * part).toLong()) }
            }
        } finally {
            families.values.forEach { it.close() }
        }
        println("## Virtual-thread echo (one virtual thread per connection, blocking read/write; the echo section's client)")
        println()
        println("| conns | server | requests/s | p50 µs | p99 µs | server CPU µs/request | ÷ JDK sockets |")
        println("|---|---|---|---|---|---|---|")
        for ((conns, results) in byConnections) {
            val jdk = results.entries.firstOrNull { it.key.label == VT_JDK }?.value?.map { it.perSecond() }?.let(::median)
            for ((v, runs) in results) {
                val rates = runs.map { it.perSecond() }
                println("| $conns | ${v.label} | ${spread(rates, ::rate)} | ${spread(runs.map { it.p50().toDouble() }, ::micros)} | " +
                    "${spread(runs.map { it.p99().toDouble() }, ::micros)} | ${spread(runs.map { it.serverCpuPerRequest() }, ::cpu)} | ${ratio(median(rates), jdk)} |")
            }
        }
        println()

        val rounds = (3 * scale).toInt().coerceAtLeast(1)
        ParkedThreads.onEventFds(PARKED_THREADS / 10, 1, 0) // warm-up
        ParkedThreads.onLockSupport(PARKED_THREADS / 10, 1, 0)
        val onFds = ArrayList<ParkedThreads.Result>()
        val onUnpark = ArrayList<ParkedThreads.Result>()
        repeat(trials) { t ->
            onFds += ParkedThreads.onEventFds(PARKED_THREADS, rounds, t.toLong())
            onUnpark += ParkedThreads.onLockSupport(PARKED_THREADS, rounds, t.toLong())
        }
        println("## $PARKED_THREADS virtual threads, each parked on its own fd, woken in a random order ($rounds rounds a trial)")
        println()
        println("Eventfds, one fd each: 10,000 pipes would need 20,000 fds, and `ulimit -n` is 20,000 (hard) here.")
        println("Pinned: jdk.VirtualThreadPinned events (JFR, threshold 0) over all trials. Probe: a new virtual thread")
        println("started and joined while all $PARKED_THREADS are parked. Carriers: the scheduler's platform threads seen.")
        println()
        println("| parked on | wake-ups/s | ÷ LockSupport | pinned | probe µs | carriers |")
        println("|---|---|---|---|---|---|")
        val unparkRate = median(onUnpark.map { it.wakeupsPerSecond() })
        for ((label, runs) in listOf("BlockingIo.read on an eventfd" to onFds, "LockSupport.park (no fd, reference)" to onUnpark)) {
            val rates = runs.map { it.wakeupsPerSecond() }
            println("| $label | ${spread(rates, ::rate)} | ${ratio(median(rates), unparkRate)} | ${runs.sumOf { it.pinned() }} | " +
                "${spread(runs.map { it.probeNanos().toDouble() }, ::micros)} | ${runs.maxOf { it.carriers() }} |")
        }
        println()
        println("| ratio of medians, same run | value | target | |")
        println("|---|---|---|---|")
        for (conns in byConnections.keys) {
            val results = byConnections.getValue(conns)
            fun rateOf(label: String) = results.entries.firstOrNull { it.key.label == label }?.value?.map { it.perSecond() }?.let(::median)
            target("$conns conns: virtual threads on BlockingIo / on JDK sockets", rateOf(VT_IOQUEUE), rateOf(VT_JDK), 1.0)
        }
        val pinned = onFds.sumOf { it.pinned() }
        println("| pinned carriers, $PARKED_THREADS threads on eventfds | $pinned | 0 | ${if (pinned == 0L) "met" else "MISSED"} |")
        println()
        println(String.format(Locale.ROOT, "(virtual-thread section: %.0f s)", (System.nanoTime() - began) / 1e9))
        println()
    }
}
