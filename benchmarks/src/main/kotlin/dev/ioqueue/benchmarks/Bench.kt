// The benchmark harness: ./bench [--trials N] [--scale F] [--only SECTION,...]
//
// Runs every workload on ioqueue and on its peers in this one run, repeats each trial (at least 5,
// interleaved across variants so machine noise hits all of them alike), and prints medians with the
// min-max spread and the ratio of medians against each peer. Workloads:
//   ring     N pipes in a ring, T tokens, H hops (../shared/bench's workload): Java callback,
//            persist, Kotlin awaitRead, and the ring written with the I/O helpers (Java
//            IoOperation, Kotlin read/writeFully; 1-byte reads, and 64-byte for one token); peers: C epoll
//            (gcc), NIO Selector, ktor's selector; and the Java floor (FloorEpollRing: the C epoll ring's
//            syscalls in Java FFM, nothing else), of which every row is also given as a fraction
//   hand-off tasks posted from another thread: execute() vs ThreadPoolExecutor, newSingleThreadContext
//   timers   100k coroutines delaying 0-50 ms: queue dispatcher vs newSingleThreadContext
//   memory   heap per idle Java waiter and per coroutine suspended in awaitRead, 8000 idle pipes
//   echo, vt TCP echo servers on 1 and 2 loops, virtual threads: see ScaleBench.kt
//   uring    ioqueue's io_uring backend: the ring against C epoll and the C io_uring reference, TCP
//            echo against Netty io_uring and Netty epoll: see UringBench.kt
//   startup  cold JVMs: IoQueue.current() + Fds.pipe() against Selector.open() + Pipe.open() and the
//            FFM floor (Startup, StartupFloor), without and with the JDK's AOT cache,
//            and bytes per hop of the helper ring with reused operations (AllocationProbe)
// --only picks sections: "ring" (ring, hand-off, timers, memory and their targets, as one), "echo",
// "vt", "uring", "startup"; all of them by default, in that order.
package dev.ioqueue.benchmarks

import dev.ioqueue.IoQueue
import java.time.LocalDate
import java.util.Locale
import kotlinx.coroutines.DelicateCoroutinesApi
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.newSingleThreadContext
import kotlin.coroutines.EmptyCoroutineContext

private data class Shape(val n: Int, val tokens: Int, val hops: Long, val idle: Int) {
    override fun toString() = "N=$n T=$tokens" + if (idle > 0) " I=$idle" else ""
}

@OptIn(DelicateCoroutinesApi::class, ExperimentalCoroutinesApi::class)
fun main(args: Array<String>) {
    val argv = args.flatMap { it.split(' ').filter(String::isNotBlank) }
    val trials = argv.indexOf("--trials").let { if (it >= 0) argv[it + 1].toInt() else 5 }
    val scale = argv.indexOf("--scale").let { if (it >= 0) argv[it + 1].toDouble() else 1.0 }
    val only = argv.indexOf("--only").let { if (it >= 0) argv[it + 1].split(',').filter(String::isNotBlank).toSet() else null }
    val sections = listOf("ring") + ScaleBench.SECTIONS + UringBench.SECTION + STARTUP
    only?.let { require(sections.containsAll(it)) { "--only takes ${sections.joinToString()}; not $it" } }
    if (only != null && "ring" !in only) {
        val began = System.nanoTime()
        println("# ioqueue benchmarks, ${LocalDate.now()}, JDK ${Runtime.version()}, ${Runtime.getRuntime().availableProcessors()} cores, $trials trials, scale $scale, only $only")
        println()
        ScaleBench.run(only, trials, scale)
        if (UringBench.SECTION in only) UringBench.run(trials, scale)
        if (STARTUP in only) startupAndAllocation()
        println(String.format(Locale.ROOT, "(whole run: %.0f s)", (System.nanoTime() - began) / 1e9))
        return
    }
    val began = System.nanoTime()
    val cEpoll = compileC("ring_epoll.c", "ring_epoll")
    val cRing = cEpoll.binary
    val idleThread = cRing?.let { compileC("idle_thread.c", "idle_thread.so", flags = listOf("-shared", "-fPIC", "-pthread")).binary }
    println("# ioqueue benchmarks, ${LocalDate.now()}, JDK ${Runtime.version()}, ${Runtime.getRuntime().availableProcessors()} cores, $trials trials, scale $scale")
    println("C epoll baseline: " + (cRing?.let { "compiled from benchmarks/src/main/c/ring_epoll.c" } ?: "not available: ${cEpoll.whyNot}"))
    if (idleThread != null) {
        println("C epoll + idle thread: the same binary with LD_PRELOAD=idle_thread.so, one idle pthread, so every fd")
        println("syscall pays the multi-threaded fd lookup a JVM always pays (the JVM's fair limit)")
    }
    val chosen = System.getProperty(BackendChoice.PROPERTY)?.let { "=$it" } ?: " not set: the default"
    println("ioqueue's backend here: ${BackendChoice.of(IoQueue.current())} (${BackendChoice.PROPERTY}$chosen); the uring section chooses its own")
    println()

    // ---- ring ----
    val shapes = listOf(Shape(2, 1, 500_000, 0), Shape(1000, 100, 700_000, 0), Shape(2, 1, 500_000, 8000))
    val results = LinkedHashMap<Pair<Shape, String>, Sample>()
    val variantHops = HashMap<Pair<Shape, String>, Long>() // hops per trial, for the measured interval
    for (shape in shapes) {
        val hops = (shape.hops * scale).toLong()
        val variants = LinkedHashMap<String, () -> Double>()
        if (cRing != null) variants["C epoll (lt)"] = { runCRing(cRing, shape.n, shape.tokens, hops, shape.idle) }
        if (cRing != null && idleThread != null) variants[C_IDLE] = { runCRing(cRing, shape.n, shape.tokens, hops, shape.idle, idleThread) }
        variants[FLOOR_EPOLL] = { FloorEpollRing.run(shape.n, shape.tokens, hops, shape.idle) }
        variants["ioqueue Java callback"] = { CallbackRing.run(shape.n, shape.tokens, hops, shape.idle, false) }
        variants["ioqueue Java callback + persist"] = { CallbackRing.run(shape.n, shape.tokens, hops, shape.idle, true) }
        variants["ioqueue Kotlin awaitRead"] = { KotlinRing.run(shape.n, shape.tokens, hops, shape.idle) }
        if (shape.idle == 0) {
            // The helpers' ring reads one byte per hop, as every other variant does...
            variants[JAVA_OPS] = { OperationRing.run(shape.n, shape.tokens, hops, 1) }
            variants[KOTLIN_OPS] = { KotlinRing.runWithHelpers(shape.n, shape.tokens, hops, 1) }
        }
        if (shape.tokens == 1 && shape.idle == 0) {
            // ...and, where one token cannot merge with another, into 64 bytes: a short read tells
            // the queue the pipe is drained, so no read is tried in vain (see docs/performance.md).
            variants[JAVA_OPS_64] = { OperationRing.run(shape.n, shape.tokens, hops, 64) }
            variants[KOTLIN_OPS_64] = { KotlinRing.runWithHelpers(shape.n, shape.tokens, hops, 64) }
        }
        variants["NIO Selector"] = { NioRing.run(shape.n, shape.tokens, hops, shape.idle) }
        if (shape.idle == 0) variants["ktor selector"] = { KtorRing.run(shape.n, shape.tokens, hops / 10) } // 10x slower: fewer hops
        for (name in variants.keys) variantHops[shape to name] = if (name == "ktor selector") hops / 10 else hops
        // warm-up: JIT every JVM variant once on a short run
        FloorEpollRing.run(shape.n, shape.tokens, hops / 10, 0)
        CallbackRing.run(shape.n, shape.tokens, hops / 10, 0, false)
        CallbackRing.run(shape.n, shape.tokens, hops / 10, 0, true)
        KotlinRing.run(shape.n, shape.tokens, hops / 10, 0)
        OperationRing.run(shape.n, shape.tokens, hops / 10, 1)
        KotlinRing.runWithHelpers(shape.n, shape.tokens, hops / 10, 1)
        NioRing.run(shape.n, shape.tokens, hops / 10, 0)
        if (shape.idle == 0) KtorRing.run(shape.n, shape.tokens, hops / 50)
        val values = variants.keys.associateWith { ArrayList<Double>() }
        repeat(trials) { t ->
            progress(began, "ring $shape, trial ${t + 1} of $trials")
            for ((name, run) in variants) values.getValue(name) += run()
        }
        for ((name, v) in values) results[shape to name] = Sample(v)
    }
    println("## Ring (hops/s: median (min–max) of $trials trials; ratios of medians against the peers of the same run)")
    println()
    println("$FLOOR_EPOLL: benchmarks/src/main/java/.../FloorEpollRing.java, the C epoll ring's syscalls (level-triggered)")
    println("in Java FFM and nothing else, run in this JVM: what the JVM can do here; ÷ Java floor is each row's fraction of it.")
    println()
    val intervals = results.entries.associate { (key, s) -> "${key.second} at ${key.first}" to variantHops.getValue(key) / s.median }
    warnIfTooShort(trials, scale, intervals)
    println("| shape | variant | hops/s | ÷ C epoll | ÷ C epoll + idle thread | ÷ Java floor (epoll) | ÷ NIO Selector | ÷ ktor selector |")
    println("|---|---|---|---|---|---|---|---|")
    fun ratio(a: Sample, b: Sample?) = if (b == null) "–" else String.format(Locale.ROOT, "%.2f", a.median / b.median)
    for ((key, s) in results) {
        val (shape, name) = key
        println("| $shape | $name | ${spread(s)} | ${ratio(s, results[shape to "C epoll (lt)"])} | ${ratio(s, results[shape to C_IDLE])} | " +
            "${ratio(s, results[shape to FLOOR_EPOLL])} | ${ratio(s, results[shape to "NIO Selector"])} | ${ratio(s, results[shape to "ktor selector"])} |")
    }
    println()

    // ---- hand-off ----
    progress(began, "hand-off")
    val tasks = (2_000_000 * scale).toInt()
    val pool = Handoff.singleThreadPool()
    val single = newSingleThreadContext("single")
    val singleExecutor = java.util.concurrent.Executor { single.dispatch(EmptyCoroutineContext, it) }
    Handoff.ioqueue(tasks / 4); Handoff.executor(pool, tasks / 4); Handoff.executor(singleExecutor, tasks / 4)
    val handoff = linkedMapOf("ioqueue execute()" to ArrayList<Double>(), "ThreadPoolExecutor (1 thread)" to ArrayList(), "newSingleThreadContext" to ArrayList())
    repeat(trials) {
        handoff.getValue("ioqueue execute()") += Handoff.ioqueue(tasks)
        handoff.getValue("ThreadPoolExecutor (1 thread)") += Handoff.executor(pool, tasks)
        handoff.getValue("newSingleThreadContext") += Handoff.executor(singleExecutor, tasks)
    }
    pool.shutdown()
    single.close()
    val handoffSamples = handoff.mapValues { Sample(it.value) }
    println("## Cross-thread hand-off ($tasks tasks from one producer thread; tasks/s)")
    println()
    warnIfTooShort(trials, scale, handoffSamples.mapValues { tasks / it.value.median })
    println("| consumer | tasks/s | ÷ ThreadPoolExecutor |")
    println("|---|---|---|")
    val pool1 = handoffSamples.getValue("ThreadPoolExecutor (1 thread)")
    for ((name, s) in handoffSamples) println("| $name | ${spread(s)} | ${String.format(Locale.ROOT, "%.2f", s.median / pool1.median)} |")
    println()

    // ---- timers ----
    progress(began, "timers")
    val timerCount = (100_000 * scale).toInt()
    Timers.ioqueue(timerCount / 10, 1); Timers.singleThreadContext(timerCount / 10, 1)
    val timerRuns = linkedMapOf("ioqueue dispatcher" to ArrayList<Timers.Result>(), "newSingleThreadContext" to ArrayList())
    repeat(trials) { t ->
        timerRuns.getValue("ioqueue dispatcher") += Timers.ioqueue(timerCount, t.toLong())
        timerRuns.getValue("newSingleThreadContext") += Timers.singleThreadContext(timerCount, t.toLong())
    }
    println("## Timers ($timerCount coroutines, each delay(random 0–50 ms))")
    println()
    warnIfTooShort(trials, scale)
    println("| dispatcher | wall time (s) | ÷ newSingleThreadContext | threads started |")
    println("|---|---|---|---|")
    val timerSamples = timerRuns.mapValues { Sample(it.value.map { r -> r.seconds }) }
    val singleTime = timerSamples.getValue("newSingleThreadContext").median
    for ((name, runs) in timerRuns) {
        val sample = timerSamples.getValue(name)
        println("| $name | ${spread(sample) { String.format(Locale.ROOT, "%.3f", it) }} | " +
            "${String.format(Locale.ROOT, "%.2f", sample.median / singleTime)} | ${runs.maxOf { it.threadsStarted }} |")
    }
    println()

    // ---- memory ----
    progress(began, "memory")
    val idlePipes = 8000
    val javaBytes = Sample((1..trials).map { Memory.javaWaiter(idlePipes) })
    val kotlinBytes = Sample((1..trials).map { Memory.suspendedCoroutine(idlePipes) })
    println("## Memory (retained heap after full GC, $idlePipes idle pipes)")
    println()
    println("| waiter | bytes each |")
    println("|---|---|")
    println("| Java ReadyCallback (waiter object + queue table) | ${spread(javaBytes)} |")
    println("| coroutine suspended in awaitRead | ${spread(kotlinBytes)} |")
    println()

    // ---- ratios against the targets ----
    fun ring(shape: Shape, name: String) = results[shape to name]?.median
    val (latency, batched, idle) = shapes
    println("## Ratios of medians, same run, against the targets")
    println()
    warnIfTooShort(trials, scale, intervals)
    println("| ratio | value | target | |")
    println("|---|---|---|---|")
    fun row(label: String, a: Double?, b: Double?, target: Double?) {
        if (a == null || b == null) {
            println("| $label | n/a | ${target?.let { "≥ $it" } ?: "–"} | peer not available |")
            return
        }
        val r = a / b
        if (target == null) println(String.format(Locale.ROOT, "| %s | %.2f | – | for reference |", label, r))
        else println(String.format(Locale.ROOT, "| %s | %.2f | ≥ %.2f | %s |", label, r, target, if (r >= target) "met" else "MISSED"))
    }
    for (shape in listOf(latency, batched)) {
        row("Java callback / C epoll lt, $shape", ring(shape, "ioqueue Java callback"), ring(shape, "C epoll (lt)"), if (shape == latency) 0.85 else 0.90)
        row("Java callback / C epoll lt + idle thread, $shape", ring(shape, "ioqueue Java callback"), ring(shape, C_IDLE), null)
        row("Java callback / Java floor (epoll), $shape", ring(shape, "ioqueue Java callback"), ring(shape, FLOOR_EPOLL), null)
        row("Java floor (epoll) / C epoll lt, $shape", ring(shape, FLOOR_EPOLL), ring(shape, "C epoll (lt)"), null)
        row("Java callback / NIO Selector, $shape", ring(shape, "ioqueue Java callback"), ring(shape, "NIO Selector"), 1.15)
        row("Kotlin awaitRead / Java callback, $shape", ring(shape, "ioqueue Kotlin awaitRead"), ring(shape, "ioqueue Java callback"), 0.90)
        row("Kotlin awaitRead / ktor selector, $shape", ring(shape, "ioqueue Kotlin awaitRead"), ring(shape, "ktor selector"), 5.0)
        row("helpers: Java IoOperation / raw Java callback, $shape", ring(shape, JAVA_OPS), ring(shape, "ioqueue Java callback"), 0.95)
        row("helpers: Kotlin read+writeFully / raw Kotlin awaitRead, $shape", ring(shape, KOTLIN_OPS), ring(shape, "ioqueue Kotlin awaitRead"), 0.95)
        if (shape.tokens == 1) {
            row("helpers, 64-byte buffer: Java IoOperation / raw Java callback, $shape", ring(shape, JAVA_OPS_64), ring(shape, "ioqueue Java callback"), 0.95)
            row("helpers, 64-byte buffer: Kotlin read / raw Kotlin awaitRead, $shape", ring(shape, KOTLIN_OPS_64), ring(shape, "ioqueue Kotlin awaitRead"), 0.95)
        }
    }
    row("Java callback idle scaling, $idle / $latency", ring(idle, "ioqueue Java callback"), ring(latency, "ioqueue Java callback"), 0.95)
    row("execute() / ThreadPoolExecutor", handoffSamples.getValue("ioqueue execute()").median, handoffSamples.getValue("ThreadPoolExecutor (1 thread)").median, 1.0)
    println(String.format(Locale.ROOT, "| heap per idle Java waiter | %.0f bytes | ≤ 200 bytes | %s |", javaBytes.median, if (javaBytes.median <= 200) "met" else "MISSED"))
    println()
    ScaleBench.run(only, trials, scale)
    if (only == null || UringBench.SECTION in only) UringBench.run(trials, scale)
    if (only == null || STARTUP in only) startupAndAllocation()
    println(String.format(Locale.ROOT, "(whole run: %.0f s)", (System.nanoTime() - began) / 1e9))
}

private const val STARTUP = "startup"

/** Cold JVMs: the first queue and fd against NIO's (10 each, interleaved), and bytes per hop with reused operations (5 per backend). */
private fun startupAndAllocation() {
    Startup.table(10)
    AllocationProbe.table(5)
}

private const val C_IDLE = "C epoll (lt) + idle thread"
private const val FLOOR_EPOLL = "Java floor (epoll)"
private const val JAVA_OPS = "ioqueue Java IoOperation (helpers)"
private const val JAVA_OPS_64 = "ioqueue Java IoOperation, 64-byte buffer"
private const val KOTLIN_OPS = "ioqueue Kotlin read/writeFully (helpers)"
private const val KOTLIN_OPS_64 = "ioqueue Kotlin read/writeFully, 64-byte buffer"
