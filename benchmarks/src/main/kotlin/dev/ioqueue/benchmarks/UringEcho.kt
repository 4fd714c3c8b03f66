// The uring section's TCP echo: the echo section's servers and load (32-byte messages, closed
// loop, one load generator), on one loop: ioqueue Java and Kotlin in a server JVM started with
// -Ddev.ioqueue.backend=io_uring, against Netty's io_uring transport and Netty epoll; ioqueue Java on
// the epoll backend for reference.
package dev.ioqueue.benchmarks

internal object UringEcho {
    private const val JAVA_URING = "ioqueue Java IoOperation, io_uring"
    private const val KOTLIN_URING = "ioqueue Kotlin read/writeFully, io_uring"
    private const val JAVA_EPOLL = "ioqueue Java IoOperation, epoll"
    private const val NETTY_URING = "Netty io_uring"
    private const val NETTY_EPOLL = "Netty epoll"

    /** Runs the echo variants and prints their table and ratios against the targets. */
    fun run(trials: Int, scale: Double, began: Long) {
        val messages = (30_000 * scale).toLong().coerceAtLeast(1000)
        val allVariants = listOf(
            EchoVariant(JAVA_URING, "ioqueue-java/io_uring", "1", 1),
            EchoVariant(KOTLIN_URING, "ioqueue-kotlin/io_uring", "1", 1),
            EchoVariant(NETTY_URING, "netty-io_uring", "1", 1),
            EchoVariant(NETTY_EPOLL, "netty-epoll", "1", 1),
            EchoVariant(JAVA_EPOLL, "ioqueue-java/epoll", "1", 1),
        ).filter { keptFamilies == null || it.family in keptFamilies }
        progress(began, "uring echo: starting the servers")
        val families = startFamilies(allVariants)
        val variants = allVariants.filter { families.getValue(it.family).unavailable == null }
        val byConnections = try {
            echoConnectionCounts.associateWith { conns ->
                progress(began, "uring echo, $conns connections")
                measureAll(variants, trials, "uring$conns") { v, part -> families.echo(v, conns, (messages * part).toLong()) }
            }
        } finally {
            families.values.forEach { it.close() }
        }
        println("## TCP echo on io_uring ($MESSAGE_SIZE-byte messages, closed loop, $messages per run, 1 server loop; $trials trials, interleaved)")
        println()
        warnIfTooShort(trials, scale)
        println("The echo section's load generator and servers, each server family in a child JVM of its own; the ioqueue")
        println("servers' JVMs start with -D${BackendChoice.PROPERTY}=<backend>. Backend: what their queues reported")
        println("(IoQueue.backend()); Netty's, the transport. Server CPU: the server JVM's CPU per request, as in the echo section.")
        println()
        println("| conns | server | backend | requests/s | p50 µs | p99 µs | server CPU µs/request | ÷ Netty io_uring | ÷ Netty epoll |")
        println("|---|---|---|---|---|---|---|---|---|")
        fun runs(conns: Int, label: String) = byConnections.getValue(conns).entries.firstOrNull { it.key.label == label }?.value
        fun perSecond(conns: Int, label: String) = runs(conns, label)?.map { it.perSecond() }?.let(::median)
        fun cpuPerRequest(conns: Int, label: String) = runs(conns, label)?.map { it.serverCpuPerRequest() }?.let(::median)
        for (conns in echoConnectionCounts) {
            for (v in allVariants) {
                val family = families.getValue(v.family)
                val backend = family.backend?.lowercase() ?: v.family.substringAfter("netty-")
                val r = runs(conns, v.label)
                if (r == null) {
                    println("| $conns | ${v.label} | – | ${family.unavailable} | | | | | |")
                    continue
                }
                val rates = r.map { it.perSecond() }
                println("| $conns | ${v.label} | $backend | ${spread(rates, ::rate)} | ${spread(r.map { it.p50().toDouble() }, ::micros)} | " +
                    "${spread(r.map { it.p99().toDouble() }, ::micros)} | ${spread(r.map { it.serverCpuPerRequest() }, ::cpuMicros)} | " +
                    "${ratio(median(rates), perSecond(conns, NETTY_URING))} | ${ratio(median(rates), perSecond(conns, NETTY_EPOLL))} |")
            }
        }
        println()
        println("| ratio of medians, same run | value | target | |")
        println("|---|---|---|---|")
        val missing = "not measured (see above)"
        for (conns in echoConnectionCounts) {
            targetRow("$conns conns: Java IoOperation on io_uring / Netty io_uring", perSecond(conns, JAVA_URING), perSecond(conns, NETTY_URING), 1.0, missing)
            targetRow("$conns conns: Kotlin on io_uring / Netty io_uring", perSecond(conns, KOTLIN_URING), perSecond(conns, NETTY_URING), 1.0, missing)
            targetRow("$conns conns: Java IoOperation on io_uring / Netty epoll", perSecond(conns, JAVA_URING), perSecond(conns, NETTY_EPOLL), null, missing)
            targetRow("$conns conns: Java IoOperation, io_uring / epoll backend", perSecond(conns, JAVA_URING), perSecond(conns, JAVA_EPOLL), null, missing)
            targetRow("$conns conns: Netty io_uring / Netty epoll", perSecond(conns, NETTY_URING), perSecond(conns, NETTY_EPOLL), null, missing)
            // Server CPU per request: peer's / ours, above 1 = ours is cheaper.
            targetRow("$conns conns: server CPU per request, Netty io_uring / Java IoOperation on io_uring",
                cpuPerRequest(conns, NETTY_URING), cpuPerRequest(conns, JAVA_URING), null, missing)
        }
        println()
    }
}
