// The scale sections of ./bench (issue 12), each runnable alone with --only:
//   echo  TCP echo on 127.0.0.1, 64 and 256 connections, closed loop, 32-byte messages, one load
//         generator for every server; servers on 1 and 2 loops: ioqueue Java IoOperation, ioqueue
//         Kotlin read/writeFully, Netty epoll, Netty NIO, ktor sockets, ktor's echo on ioqueue-ktor's
//         HandleSocket (the adapter against ktor's own sockets); and on 2 loops the two ways
//         of spreading connections (one acceptor, SO_REUSEPORT listeners), in ioqueue Java and in
//         the sample MixedEchoServer
//   vt    virtual threads: echo with one virtual thread per connection on ioqueue's BlockingIo vs
//         the JDK's sockets; 10,000 virtual threads parked on their own eventfds, woken in a
//         random order (wake-ups/s, pinned carriers)
//
// Each server family runs in a child JVM of its own (EchoFamilies.kt, which also lists the
// environment variables that narrow a run). The machine has 2 cores: the load generator competes
// with the server for them (it makes as many syscalls per message as the server does), so these are
// numbers of the pair, with the client's share the same for every server.
package dev.ioqueue.benchmarks

import java.util.Locale

object ScaleBench {
    /** The sections this file runs, as --only names them. */
    val SECTIONS = listOf("echo", "vt")

    private const val CHURN_CONCURRENCY = 64
    private const val PARKED_THREADS = 10_000

    /** Runs the sections of [only] (null: all of them). */
    fun run(only: Set<String>?, trials: Int, scale: Double) {
        if (only == null || "echo" in only) echo(trials, scale)
        if (only == null || "vt" in only) virtualThreads(trials, scale)
    }

    /** These sections need every family they name: one that could not start ends the run. */
    private fun requireStarted(families: Map<String, ServerFamily>) {
        val failed = families.values.firstOrNull { it.unavailable != null } ?: return
        families.values.forEach { it.close() }
        error("the ${failed.key} servers did not start: ${failed.unavailable}")
    }

    // ---- echo ----

    private const val JAVA = "ioqueue Java IoOperation"
    private const val KOTLIN = "ioqueue Kotlin read/writeFully"
    private const val EPOLL = "Netty epoll"
    private const val NIO = "Netty NIO"
    private const val KTOR = "ktor sockets"
    private const val KTOR_ADAPTER = "ktor echo on ioqueue-ktor HandleSocket"
    private const val JAVA_REUSEPORT = "ioqueue Java IoOperation, SO_REUSEPORT"
    private const val SAMPLE_ACCEPTOR = "sample MixedEchoServer, acceptor"
    private const val SAMPLE_REUSEPORT = "sample MixedEchoServer, SO_REUSEPORT"

    private fun echo(trials: Int, scale: Double) {
        val messages = (30_000 * scale).toLong().coerceAtLeast(1000)
        val began = System.nanoTime()
        val allVariants = buildList {
            for (loops in 1..2) {
                add(EchoVariant(JAVA, "ioqueue-java", "$loops", loops))
                add(EchoVariant(KOTLIN, "ioqueue-kotlin", "$loops", loops))
                add(EchoVariant(EPOLL, "netty-epoll", "$loops", loops))
                add(EchoVariant(NIO, "netty-nio", "$loops", loops))
                add(EchoVariant(KTOR, "ktor", "$loops", loops))
                add(EchoVariant(KTOR_ADAPTER, "ioqueue-ktor", "$loops", loops))
            }
            add(EchoVariant(JAVA_REUSEPORT, "ioqueue-java", "2-reuseport", 2))
            add(EchoVariant(SAMPLE_ACCEPTOR, "sample", "2-acceptor", 2))
            add(EchoVariant(SAMPLE_REUSEPORT, "sample", "2-reuseport", 2))
        }
        val variants = if (keptFamilies == null) allVariants else allVariants.filter { it.family in keptFamilies }
        val families = startFamilies(variants).also(::requireStarted)
        // Not the sample: it allocates a 64 KiB direct buffer per connection, and freeing them
        // through the GC (System.gc() once the direct-memory limit is reached) dominates its churn.
        val churnVariants = variants.filter { it.loops == 2 && it.label in setOf(JAVA, JAVA_REUSEPORT, EPOLL) }
        val connectionsPerRun = (4_000 * scale).toLong().coerceAtLeast(200)
        val (byConnections, churned) = try {
            echoConnectionCounts.associateWith { conns ->
                measureAll(variants, trials, "$conns") { v, part -> families.echo(v, conns, (messages * part).toLong()) }
            } to measureAll(churnVariants, trials, "churn") { v, part -> families.churn(v, CHURN_CONCURRENCY, (connectionsPerRun * part).toLong()) }
        } finally {
            families.values.forEach { it.close() }
        }
        println("## TCP echo ($MESSAGE_SIZE-byte messages, closed loop, $messages per run; $trials trials, interleaved)")
        println()
        warnIfTooShort(trials, scale)
        println("One load generator for every server: $CLIENT_THREADS platform threads, NIO selectors, each connection sends,")
        println("waits for the whole echo, records the round trip (HdrHistogram), sends again. Each server family runs in")
        println("a child JVM of its own. On 2 cores the client's threads compete with the server's loops for the CPU.")
        println("Server CPU: what the server's JVM used (all its threads, from /proc schedstat) between the first message and")
        println("the last echo, per request: steadier than requests/s when other work shares the machine.")
        val backends = families.values.filter { it.backend != null }.joinToString { "${it.key} on ${it.backend}" }
        val chosen = System.getProperty(BackendChoice.PROPERTY)?.let { "=$it" } ?: " not set, so the default"
        if (backends.isNotEmpty()) println("ioqueue's backend (${BackendChoice.PROPERTY}$chosen): $backends.")
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
                    "${spread(runs.map { it.p99().toDouble() }, ::micros)} | ${spread(runs.map { it.serverCpuPerRequest() }, ::cpuMicros)} | " +
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
            targetRow("$conns conns, $loops loop${if (loops > 1) "s" else ""}: Java IoOperation / Netty epoll", java, epoll, 1.0)
            targetRow("$conns conns, $loops loop${if (loops > 1) "s" else ""}: Kotlin / Netty epoll", kotlin, epoll, 0.9)
            targetRow("$conns conns, $loops loop${if (loops > 1) "s" else ""}: Kotlin / ktor", kotlin, perSecond(conns, loops, KTOR), 2.0)
            // The same ktor echo code on both sides: what changes is ktor-network's sockets for ioqueue-ktor's adapter.
            targetRow("$conns conns, $loops loop${if (loops > 1) "s" else ""}: ktor echo on ioqueue-ktor / on ktor sockets", perSecond(conns, loops, KTOR_ADAPTER), perSecond(conns, loops, KTOR), 1.0)
        }
        for (conns in byConnections.keys) for (loops in 1..2) {
            // Server CPU per request is the steadier measure on a busy 2-core machine: peer's / ours, above 1 = ours is cheaper.
            val at = "$conns conns, $loops loop${if (loops > 1) "s" else ""}: server CPU per request,"
            targetRow("$at Netty epoll / Java IoOperation", cpuPerRequest(conns, loops, EPOLL), cpuPerRequest(conns, loops, JAVA), null)
            targetRow("$at Netty epoll / Kotlin", cpuPerRequest(conns, loops, EPOLL), cpuPerRequest(conns, loops, KOTLIN), null)
        }
        for (conns in byConnections.keys) {
            targetRow("$conns conns, 2 loops: Java, acceptor / SO_REUSEPORT, requests/s", perSecond(conns, 2, JAVA), perSecond(conns, 2, JAVA_REUSEPORT), null)
            targetRow("$conns conns, 2 loops: Java, SO_REUSEPORT / acceptor, server CPU per request", cpuPerRequest(conns, 2, JAVA_REUSEPORT), cpuPerRequest(conns, 2, JAVA), null)
            targetRow("$conns conns, 2 loops: sample, acceptor / SO_REUSEPORT, requests/s", perSecond(conns, 2, SAMPLE_ACCEPTOR), perSecond(conns, 2, SAMPLE_REUSEPORT), null)
            targetRow("$conns conns, 2 loops: sample, SO_REUSEPORT / acceptor, server CPU per request", cpuPerRequest(conns, 2, SAMPLE_REUSEPORT), cpuPerRequest(conns, 2, SAMPLE_ACCEPTOR), null)
            targetRow("$conns conns: Java IoOperation, 2 loops / 1 loop, requests/s", perSecond(conns, 2, JAVA), perSecond(conns, 1, JAVA), null)
        }
        println()
        if (churned.isNotEmpty()) {
            println("## Connection churn, 2 loops ($CHURN_CONCURRENCY clients at a time: connect, echo one message, close; $connectionsPerRun connections per run)")
            println()
            warnIfTooShort(trials, scale)
            println("What tells the two ways of spreading connections apart: with a fixed set of connections (above) no")
            println("accept happens while the clock runs. Latency: from connect to the echo.")
            println()
            println("| server | connections/s | p50 µs | p99 µs | server CPU µs/connection |")
            println("|---|---|---|---|---|")
            for ((v, runs) in churned) {
                println("| ${v.label} | ${spread(runs.map { it.perSecond() }, ::rate)} | ${spread(runs.map { it.p50().toDouble() }, ::micros)} | " +
                    "${spread(runs.map { it.p99().toDouble() }, ::micros)} | ${spread(runs.map { it.serverCpuPerRequest() }, ::cpuMicros)} |")
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
        // Five times the echo section's count: at ~100k requests/s a 30,000-message trial lasted 0.3 s
        // and the two servers' trials spread over ±20% (their ratio moved 0.87-1.00 between runs of one build).
        val messages = (150_000 * scale).toLong().coerceAtLeast(1000)
        val variants = listOf(EchoVariant(VT_IOQUEUE, "vt-ioqueue", "vt", 0), EchoVariant(VT_JDK, "vt-jdk", "vt", 0)).filter { keptFamilies == null || it.family in keptFamilies }
        val families = startFamilies(variants).also(::requireStarted)
        val byConnections = try {
            echoConnectionCounts.associateWith { conns ->
                measureAll(variants, trials, "vt$conns") { v, part -> families.echo(v, conns, (messages * part).toLong()) }
            }
        } finally {
            families.values.forEach { it.close() }
        }
        println("## Virtual-thread echo (one virtual thread per connection, blocking read/write; the echo section's client)")
        println()
        warnIfTooShort(trials, scale)
        println("| conns | server | requests/s | p50 µs | p99 µs | server CPU µs/request | ÷ JDK sockets |")
        println("|---|---|---|---|---|---|---|")
        for ((conns, results) in byConnections) {
            val jdk = results.entries.firstOrNull { it.key.label == VT_JDK }?.value?.map { it.perSecond() }?.let(::median)
            for ((v, runs) in results) {
                val rates = runs.map { it.perSecond() }
                println("| $conns | ${v.label} | ${spread(rates, ::rate)} | ${spread(runs.map { it.p50().toDouble() }, ::micros)} | " +
                    "${spread(runs.map { it.p99().toDouble() }, ::micros)} | ${spread(runs.map { it.serverCpuPerRequest() }, ::cpuMicros)} | ${ratio(median(rates), jdk)} |")
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
        warnIfTooShort(trials, scale)
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
            targetRow("$conns conns: virtual threads on BlockingIo / on JDK sockets", rateOf(VT_IOQUEUE), rateOf(VT_JDK), 1.0)
        }
        val pinned = onFds.sumOf { it.pinned() }
        println("| pinned carriers, $PARKED_THREADS threads on eventfds | $pinned | 0 | ${if (pinned == 0L) "met" else "MISSED"} |")
        println()
        println(String.format(Locale.ROOT, "(virtual-thread section: %.0f s)", (System.nanoTime() - began) / 1e9))
        println()
    }
}
