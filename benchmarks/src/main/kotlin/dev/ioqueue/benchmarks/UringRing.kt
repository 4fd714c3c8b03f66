// The uring section's ring: the ring section's workload (N pipes, T one-byte tokens, read one byte,
// write it to the next pipe) written with ioqueue's I/O helpers, on a queue of each backend, against
// C epoll level-triggered and the C io_uring reference (ring_uring_ops, completion I/O as set up in
// C_URING_MODE), and against the Java floor (FloorUringRing: that reference's syscalls and setup in
// Java FFM, nothing else), at N=2 T=1 (latency-bound) and N=1000 T=100 (batched).
package dev.ioqueue.benchmarks

import java.nio.file.Path

internal object UringRing {
    /** A shape of the ring: [n] pipes, [tokens] tokens, [hops] hops per run at scale 1. */
    private class Shape(val n: Int, val tokens: Int, val hops: Long) {
        override fun toString() = "N=$n T=$tokens"
    }

    /** The ring section's two shapes with idle=0, and its hop counts. */
    private val SHAPES = listOf(Shape(2, 1, 500_000), Shape(1000, 100, 700_000))

    private const val C_EPOLL = "C epoll (lt)"
    private const val C_URING = "C io_uring ops (reference)"
    private const val FLOOR_URING = "Java floor (io_uring)"
    private const val JAVA_URING = "ioqueue Java IoOperation, io_uring"
    private const val JAVA_EPOLL = "ioqueue Java IoOperation, epoll"
    private const val KOTLIN_URING = "ioqueue Kotlin read/writeFully, io_uring"

    /** One row: its [name], the [backend] it last ran on, and how to run it for a number of hops (hops/s, and the backend). */
    private class Variant(val name: String, val run: (Long) -> OnBackend<Double>) {
        var backend = "–"
    }

    /** Each measured row's median trial in seconds: the hops of a trial at its shape ([hops]) over its median hops/s. */
    private fun intervals(results: Map<Pair<Shape, String>, Outcome>, hops: (Shape) -> Long): Map<String, Double> =
        results.entries.mapNotNull { (key, o) -> o.sample?.let { "${key.second} at ${key.first}" to hops(key.first) / it.median } }.toMap()

    /** What was measured of one variant at one shape: its trials' hops/s, or why it has none. */
    private class Outcome(val backend: String, val sample: Sample?, val whyNot: String?)

    /** Runs the ring variants and prints their table and ratios against the targets. */
    fun run(trials: Int, scale: Double, began: Long) {
        val cEpoll = compileC("ring_epoll.c", "ring_epoll")
        val cUring = compileC("ring_uring_ops.c", "ring_uring_ops", libs = listOf("-luring"))
        val results = LinkedHashMap<Pair<Shape, String>, Outcome>() // (shape, variant) to what it gave
        for (shape in SHAPES) {
            val hops = (shape.hops * scale).toLong()
            for ((name, outcome) in measure(shape, hops, trials, cEpoll, cUring, began)) results[shape to name] = outcome
        }
        println("## Ring on io_uring (hops/s: median (min–max) of $trials trials, interleaved; ratios of medians, same run)")
        println()
        println("The ring section's workload (1-byte tokens, ${SHAPES.joinToString { "$it: ${it.hops} hops" }} at scale 1), read and written")
        println("with ioqueue's I/O helpers (IoOperation.read + writeFully of a 1-byte direct buffer per pipe; Kotlin read +")
        println("writeFully), each run on a new platform thread whose queue is made with ${BackendChoice.PROPERTY}=<backend>")
        println("(set for that queue alone) and closed after the run. Backend: what the queue reported (IoQueue.backend())")
        println("on the variant's last run. C epoll: benchmarks/src/main/c/ring_epoll.c, level-triggered. C io_uring")
        println("reference: ring_uring_ops.c $C_URING_MODE (multishot READ into a provided-buffer ring,")
        println("single issuer + DEFER_TASKRUN, fixed files, no CQE for successful writes, registered ring fd).")
        println("C epoll: " + (cEpoll.binary?.let { "compiled" } ?: "not available: ${cEpoll.whyNot}") +
            "; C io_uring reference: " + (cUring.binary?.let { "compiled (liburing)" } ?: "not available: ${cUring.whyNot}"))
        println("$FLOOR_URING: benchmarks/src/main/java/.../FloorUringRing.java, the C reference's setup and syscalls in Java")
        println("FFM (no liburing, no ioqueue), run in this JVM: what the JVM can do here; ÷ Java floor is each row's fraction of it.")
        println()
        val intervals = intervals(results) { (it.hops * scale).toLong() }
        warnIfTooShort(trials, scale, intervals)
        println("| shape | variant | backend | hops/s | ÷ C epoll | ÷ C io_uring | ÷ Java floor (io_uring) |")
        println("|---|---|---|---|---|---|---|")
        fun median(shape: Shape, name: String) = results[shape to name]?.sample?.median
        for ((key, outcome) in results) {
            val (shape, name) = key
            val s = outcome.sample
            val hopsPerSecond = s?.let { spread(it) } ?: outcome.whyNot
            println("| $shape | $name | ${outcome.backend} | $hopsPerSecond | ${ratio(s?.median, median(shape, C_EPOLL))} | " +
                "${ratio(s?.median, median(shape, C_URING))} | ${ratio(s?.median, median(shape, FLOOR_URING))} |")
        }
        println()
        warnIfTooShort(trials, scale, intervals)
        println("| ratio of medians, same run | value | target | |")
        println("|---|---|---|---|")
        val latency = SHAPES.first()
        for (shape in SHAPES) {
            targetRow("helpers on io_uring (Java IoOperation) / C epoll lt, $shape", median(shape, JAVA_URING), median(shape, C_EPOLL),
                if (shape == latency) 1.00 else 1.25, missing = "not measured (see above)")
            targetRow("helpers on io_uring (Java IoOperation) / C io_uring reference, $shape", median(shape, JAVA_URING), median(shape, C_URING),
                0.95, missing = "not measured (see above)")
            targetRow("helpers on io_uring (Java IoOperation) / Java floor (io_uring), $shape", median(shape, JAVA_URING),
                median(shape, FLOOR_URING), null)
            targetRow("Java floor (io_uring) / C io_uring reference, $shape", median(shape, FLOOR_URING), median(shape, C_URING), null)
            targetRow("Kotlin helpers on io_uring / C epoll lt, $shape", median(shape, KOTLIN_URING), median(shape, C_EPOLL), null)
            targetRow("Java IoOperation, io_uring / epoll backend, $shape", median(shape, JAVA_URING), median(shape, JAVA_EPOLL), null)
            targetRow("C io_uring reference / C epoll lt, $shape", median(shape, C_URING), median(shape, C_EPOLL), null)
        }
        println()
    }

    /** Every variant at [shape]: once at a tenth of [hops] (the JIT's warm-up, and the check it runs here), then [trials] interleaved rounds. */
    private fun measure(shape: Shape, hops: Long, trials: Int, cEpoll: CProgram, cUring: CProgram, began: Long): Map<String, Outcome> {
        val variants = variants(shape, cEpoll.binary, cUring.binary)
        val whyNot = LinkedHashMap<String, String>()
        cEpoll.whyNot?.let { whyNot[C_EPOLL] = "not available: $it" }
        cUring.whyNot?.let { whyNot[C_URING] = "not available: $it" }
        val values = variants.associate { it.name to ArrayList<Double>() }
        progress(began, "uring ring $shape, warm-up")
        for (v in variants) tryRun(v, hops / 10, whyNot)
        repeat(trials) { t ->
            progress(began, "uring ring $shape, trial ${t + 1} of $trials")
            for (v in variants) if (v.name !in whyNot) tryRun(v, hops, whyNot)?.let { values.getValue(v.name) += it }
        }
        val all = listOf(C_EPOLL, C_URING) + variants.map { it.name }.filter { it != C_EPOLL && it != C_URING }
        return all.associateWith { name ->
            val v = variants.firstOrNull { it.name == name }
            val why = whyNot[name]
            if (why == null) Outcome(v!!.backend, Sample(values.getValue(name)), null) else Outcome("–", null, why)
        }
    }

    /** Runs [v] once; null (and the reason in [whyNot]) if it failed: the run goes on without it. */
    private fun tryRun(v: Variant, hops: Long, whyNot: MutableMap<String, String>): Double? = try {
        v.run(hops).also { v.backend = it.backend.lowercase() }.value
    } catch (e: BackendUnavailable) {
        whyNot[v.name] = e.message!!
        null
    } catch (e: Exception) {
        System.err.println("bench: ${v.name} failed:")
        e.printStackTrace()
        whyNot[v.name] = "failed: ${e.message ?: e}"
        null
    }

    private fun variants(shape: Shape, cEpoll: Path?, cUring: Path?): List<Variant> = buildList {
        if (cEpoll != null) add(Variant(C_EPOLL) { OnBackend(runCRing(cEpoll, shape.n, shape.tokens, it, 0), "epoll") })
        if (cUring != null) add(Variant(C_URING) { OnBackend(runCUringRing(cUring, shape.n, shape.tokens, it), "io_uring") })
        add(Variant(FLOOR_URING) { hops ->
            try {
                OnBackend(FloorUringRing.run(shape.n, shape.tokens, hops), "io_uring")
            } catch (e: UnsupportedOperationException) {
                throw BackendUnavailable("not available: ${e.message}", e)
            }
        })
        add(Variant(JAVA_URING) { hops -> BackendChoice.onFreshQueue("io_uring") { OperationRing.run(shape.n, shape.tokens, hops, 1) } })
        add(Variant(JAVA_EPOLL) { hops -> BackendChoice.onFreshQueue("epoll") { OperationRing.run(shape.n, shape.tokens, hops, 1) } })
        add(Variant(KOTLIN_URING) { hops -> BackendChoice.onFreshQueue("io_uring") { KotlinRing.runWithHelpers(shape.n, shape.tokens, hops, 1) } })
    }
}
