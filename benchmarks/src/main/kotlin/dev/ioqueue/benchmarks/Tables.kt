// How the sections of ./bench print their numbers: the trials of one variant as a median with
// its min–max spread, ratios of medians, the rows that hold a ratio against its target, and the
// warning at a table whose run was too short to judge.
package dev.ioqueue.benchmarks

import java.util.Locale

/** The values one variant gave, one per trial. */
internal class Sample(val values: List<Double>) {
    val median: Double get() = median(values)
    val min: Double get() = values.min()
    val max: Double get() = values.max()
}

/** The median of [values] (the mean of the middle two for an even count). */
internal fun median(values: List<Double>): Double =
    values.sorted().let { if (it.size % 2 == 1) it[it.size / 2] else (it[it.size / 2 - 1] + it[it.size / 2]) / 2 }

/** A rate, short: 1.23M, 45.6k, 7.8. */
internal fun rate(x: Double): String = when {
    x >= 1e6 -> String.format(Locale.ROOT, "%.2fM", x / 1e6)
    x >= 1e3 -> String.format(Locale.ROOT, "%.1fk", x / 1e3)
    else -> String.format(Locale.ROOT, "%.1f", x)
}

/** Nanoseconds as whole microseconds (latencies). */
internal fun micros(nanos: Double): String = String.format(Locale.ROOT, "%.0f", nanos / 1e3)

/** Nanoseconds as microseconds with one decimal (CPU time per request). */
internal fun cpuMicros(nanos: Double): String = String.format(Locale.ROOT, "%.1f", nanos / 1e3)

/** "median (min–max)", each shown by [unit]. */
internal fun spread(s: Sample, unit: (Double) -> String = ::rate): String = "${unit(s.median)} (${unit(s.min)}–${unit(s.max)})"

/** "median (min–max)" of [values], each shown by [unit]. */
internal fun spread(values: List<Double>, unit: (Double) -> String): String = spread(Sample(values), unit)

/** a ÷ b to two decimals, or "–" when either is missing. */
internal fun ratio(a: Double?, b: Double?): String = if (a == null || b == null) "–" else String.format(Locale.ROOT, "%.2f", a / b)

/**
 * One row of a "ratio | value | target | verdict" table: a ÷ b against [goal] (null: shown for
 * reference); [missing] says why when a or b is not there.
 */
internal fun targetRow(label: String, a: Double?, b: Double?, goal: Double?, missing: String = "n/a") {
    val r = if (a == null || b == null) null else a / b
    val verdict = when {
        r == null -> missing
        goal == null -> "for reference"
        r >= goal -> "met"
        else -> "MISSED"
    }
    println("| $label | ${r?.let { String.format(Locale.ROOT, "%.2f", it) } ?: "n/a"} | ${goal?.let { String.format(Locale.ROOT, "≥ %.2f", it) } ?: "–"} | $verdict |")
}

/** Where the run is, on stderr: stdout keeps only the tables. */
internal fun progress(began: Long, what: String) =
    System.err.println(String.format(Locale.ROOT, "bench: %4.0f s  %s", (System.nanoTime() - began) / 1e9, what))

/**
 * A variant measured for less than this (its median trial) is too short to judge: timer, JIT and
 * scheduler noise weigh on it. Every trial follows a warm-up run of its variant, so a fifth of a
 * second of warm code is enough; a cold-JIT `--scale 0.1` run is not.
 */
internal const val MIN_JUDGED_SECONDS = 0.2

/** Fewer trials than this give no median worth the name. */
internal const val MIN_JUDGED_TRIALS = 3

/**
 * Why a table's numbers are too short to judge, or null: fewer than [MIN_JUDGED_TRIALS] trials, a
 * scale below 1 (the workloads shortened), or rows whose median measured interval ([intervals]:
 * seconds by row) is under [MIN_JUDGED_SECONDS].
 */
internal fun tooShortToJudge(trials: Int, scale: Double, intervals: Map<String, Double> = emptyMap()): String? {
    val reasons = buildList {
        if (trials < MIN_JUDGED_TRIALS) add("$trials trial${if (trials == 1) "" else "s"} (fewer than $MIN_JUDGED_TRIALS)")
        if (scale < 1.0) add("--scale $scale (below 1)")
        val short = intervals.filterValues { it < MIN_JUDGED_SECONDS }.entries.sortedBy { it.value }
        fun row(e: Map.Entry<String, Double>) = String.format(Locale.ROOT, "%s %.2f s", e.key, e.value)
        when {
            short.isEmpty() -> {}
            short.size <= 3 -> add("measured for under $MIN_JUDGED_SECONDS s (median trial): ${short.joinToString(transform = ::row)}")
            else -> add("${short.size} of ${intervals.size} rows measured for under $MIN_JUDGED_SECONDS s (median trial), the shortest ${row(short.first())}")
        }
    }
    return if (reasons.isEmpty()) null else "**Too short to judge:** ${reasons.joinToString("; ")}. These figures are not verdicts."
}

/** Prints [tooShortToJudge]'s warning at a table, and a blank line, when there is one. */
internal fun warnIfTooShort(trials: Int, scale: Double, intervals: Map<String, Double> = emptyMap()) {
    tooShortToJudge(trials, scale, intervals)?.let {
        println(it)
        println()
    }
}
