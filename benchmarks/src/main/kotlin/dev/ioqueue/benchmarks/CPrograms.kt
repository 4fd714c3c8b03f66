// The C baselines of the ring sections, kept in this repository (benchmarks/src/main/c), compiled
// with gcc at the start of a run and run as child processes, each printing hops_per_sec=R:
//   ring_epoll.c      N T HOPS lt|oneshot IDLE   raw epoll, one thread (the ring section's physical limit)
//   idle_thread.c     an LD_PRELOAD shim: one idle pthread, so the fd syscalls pay what a JVM pays
//   ring_uring_ops.c  N T HOPS MODE              completion I/O on io_uring (liburing): the uring section's reference
package dev.ioqueue.benchmarks

import java.io.IOException
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.TimeUnit

/** A C program compiled for this run ([binary]), or why it could not be ([whyNot]). */
internal class CProgram private constructor(val binary: Path?, val whyNot: String?) {
    companion object {
        fun built(binary: Path) = CProgram(binary, null)
        fun missing(why: String) = CProgram(null, why)
    }
}

/** The C sources: benchmarks/src/main/c (./bench passes its absolute path as bench.c). */
private val cSources: Path = Path.of(System.getProperty("bench.c", "benchmarks/src/main/c"))

private val cBuildDir: Path by lazy { Files.createTempDirectory("ioqueue-bench") }

/**
 * Compiles [source] of the C sources with `gcc -O2` ([flags] before the source, e.g. for a shared
 * object; [libs] after it, e.g. -luring). gcc's own messages are kept for [CProgram.whyNot], not
 * printed: a missing header or library becomes one line of the table's heading.
 */
internal fun compileC(source: String, output: String, flags: List<String> = emptyList(), libs: List<String> = emptyList()): CProgram {
    val src = cSources.resolve(source)
    if (!Files.exists(src)) return CProgram.missing("$src not found")
    val binary = cBuildDir.resolve(output)
    return try {
        val gcc = ProcessBuilder(listOf("gcc", "-O2") + flags + listOf("-o", binary.toString(), src.toString()) + libs)
            .redirectErrorStream(true).start()
        val said = gcc.inputStream.readAllBytes().decodeToString()
        when {
            !gcc.waitFor(60, TimeUnit.SECONDS) -> CProgram.missing("gcc took over 60 s")
            gcc.exitValue() == 0 -> CProgram.built(binary)
            else -> CProgram.missing(gccFailure(said))
        }
    } catch (_: IOException) {
        CProgram.missing("no gcc on this machine")
    }
}

/** The cause of a failed compile, in a line: liburing's absence named as such, else gcc's first error. */
private fun gccFailure(said: String): String = when {
    "liburing.h" in said || "-luring" in said -> "liburing is not installed (apt-get install liburing-dev)"
    else -> "gcc failed: " + (said.lines().firstOrNull { "error" in it } ?: said.lines().firstOrNull().orEmpty()).trim()
}

/** Runs [binary] with [args] (and LD_PRELOAD=[preload] if given); returns its hops_per_sec. */
private fun runRing(binary: Path, args: List<String>, preload: Path? = null): Double {
    val builder = ProcessBuilder(listOf(binary.toString()) + args).redirectErrorStream(true)
    if (preload != null) builder.environment()["LD_PRELOAD"] = preload.toString()
    val p = builder.start()
    val out = p.inputStream.readAllBytes().decodeToString()
    p.waitFor()
    return Regex("hops_per_sec=(\\d+)").find(out)?.groupValues?.get(1)?.toDouble()
        ?: error("${binary.fileName} ${args.joinToString(" ")} said: ${out.trim()}")
}

/** ring_epoll level-triggered (N T HOPS lt IDLE); with [preload], under LD_PRELOAD (the idle-thread shim). */
internal fun runCRing(binary: Path, n: Int, tokens: Int, hops: Long, idle: Int, preload: Path? = null): Double =
    runRing(binary, listOf("$n", "$tokens", "$hops", "lt", "$idle"), preload)

/**
 * The setup of ring_uring_ops that beat C epoll in the study behind ioqueue's io_uring backend:
 * multishot READ into a provided-buffer ring, single issuer with deferred task work, fixed files,
 * no completion for a write that succeeds, registered ring fd.
 */
internal const val C_URING_MODE = "defer,single,fixed,skip,reg,mshot"

/** ring_uring_ops N T HOPS [C_URING_MODE]. */
internal fun runCUringRing(binary: Path, n: Int, tokens: Int, hops: Long): Double =
    runRing(binary, listOf("$n", "$tokens", "$hops", C_URING_MODE))
