package dev.ioqueue.benchmarks

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.string.shouldNotContain

// The Java floor rings (issue 21) do what the C rings they mirror do: the hops asked for (a turn's
// events all handled, so a few over at most), and every token still in the ring afterwards, as
// ring_uring_ops.c checks; and ./bench's warning names what makes a run too short to judge.
// Speed is ./bench's business.

/** Events one epoll_wait returns at most, and so the hops a floor run may make past its target. */
private const val TURN = 1024

class FloorRingsSpec : FunSpec({
    for ((n, tokens, idle) in listOf(Triple(2, 1, 0), Triple(1000, 100, 0), Triple(2, 1, 100))) {
        test("the epoll floor makes its hops and keeps every token, N=$n T=$tokens I=$idle") {
            val r = FloorEpollRing.ring(n, tokens, 20_000, idle)
            (r.hops() in 20_000L until 20_000L + TURN) shouldBe true
            r.tokensLeft() shouldBe tokens.toLong()
        }
    }

    for ((n, tokens) in listOf(2 to 1, 1000 to 100)) {
        test("the io_uring floor makes its hops and keeps every token, N=$n T=$tokens") {
            val r = try {
                FloorUringRing.ring(n, tokens, 20_000)
            } catch (e: UnsupportedOperationException) {
                println("io_uring floor not run: ${e.message}")
                return@test
            }
            (r.hops() in 20_000L until 20_000L + TURN) shouldBe true
            r.tokensLeft() shouldBe tokens.toLong()
        }
    }

    test("one token on two pipes takes one io_uring_enter per hop, as the C reference does") {
        val r = try {
            FloorUringRing.ring(2, 1, 20_000)
        } catch (_: UnsupportedOperationException) {
            return@test
        }
        r.hops() shouldBe 20_000L
        r.enters() shouldBe 20_001L // and one to submit the first reads
    }

    test("the startup floor makes its epoll fd, wake-up eventfd and pipe in a cold JVM") {
        if (System.getProperty("os.arch") != "amd64") return@test // StartupFloor knows x86-64's numbers only
        val javaBin = java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString()
        val classes = java.nio.file.Path.of(StartupFloor::class.java.protectionDomain.codeSource.location.toURI()).toString()
        val p = ProcessBuilder(javaBin, "--enable-native-access=ALL-UNNAMED", "-cp", classes, StartupFloor::class.java.name)
            .redirectErrorStream(true).start()
        val out = p.inputStream.readAllBytes().decodeToString().trim()
        p.waitFor() shouldBe 0
        out shouldContain Regex("^micros [0-9]+ floor$")
    }

    test("a run of enough trials at full scale, every row long enough, is judged") {
        tooShortToJudge(5, 1.0, mapOf("C epoll at N=2 T=1" to 1.2, "Java floor at N=2 T=1" to 3.0)) shouldBe null
    }

    test("too few trials, a scale below 1 and a short row are each named") {
        val warning = tooShortToJudge(1, 0.3, mapOf("C epoll at N=2 T=1" to 0.15, "Java floor at N=2 T=1" to 3.0))
        warning shouldNotBe null
        warning!! shouldContain "1 trial (fewer than 3)"
        warning shouldContain "--scale 0.3 (below 1)"
        warning shouldContain "C epoll at N=2 T=1 0.15 s"
        warning shouldNotContain "Java floor"
    }

    test("many short rows are counted, the shortest named") {
        val intervals = (1..5).associate { "row $it" to it / 100.0 } + ("long" to 2.0)
        tooShortToJudge(3, 1.0, intervals)!! shouldContain "5 of 6 rows measured for under 0.2 s (median trial), the shortest row 1 0.01 s"
    }
})
