package dev.ioqueue.samples

import dev.ioqueue.Backend
import dev.ioqueue.Fds
import dev.ioqueue.IoQueue
import dev.ioqueue.IoQueueGroup
import dev.ioqueue.ReadyEvent
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.micrometer.core.instrument.simple.SimpleMeterRegistry
import java.nio.ByteBuffer
import java.time.Duration
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit

class IoQueueMetricsSpec : FunSpec({
    test("a queue's meters read its stats: gauges of what it holds, counters of what it did, tagged by thread and backend") {
        val registry = SimpleMeterRegistry()
        val backend = onLoopThread("metrics-loop") {
            val q = IoQueue.current()
            IoQueueMetrics.of(q).bindTo(registry)
            Fds.pipe().use { p ->
                q.await(p.readFd(), ReadyEvent.READ) { _, _ -> }
                registry.get("ioqueue.waiters").tag("queue", "metrics-loop").gauge().value() shouldBe 1.0
                registry.get("ioqueue.fds.registered").tag("queue", "metrics-loop").gauge().value() shouldBe 1.0
                Fds.write(p.writeFd(), ByteBuffer.wrap(byteArrayOf(1)))
                repeat(3) { q.execute {} }
                q.schedule(Duration.ZERO) {}
                q.run()
            }
            q.backend()
        }
        val tag = backend.name.lowercase()
        fun count(name: String) = registry.get(name).tags("queue", "metrics-loop", "backend", tag).functionCounter().count()
        count("ioqueue.callbacks") shouldBe 1.0
        count("ioqueue.tasks") shouldBe 3.0
        count("ioqueue.timers.fired") shouldBe 1.0
        count("ioqueue.rounds") shouldBe 1.0 // the byte, the tasks and the timer were all due at once
        count("ioqueue.wakeups") shouldBe 0.0 // so the round only looked, without sleeping
        count("ioqueue.wakeups.spurious") shouldBe 0.0
        registry.get("ioqueue.waiters").tag("queue", "metrics-loop").gauge().value() shouldBe 0.0
        val ringMeters = registry.meters.map { it.id.name }.filter { it.startsWith("ioqueue.ring.") }.toSet()
        ringMeters shouldBe if (backend == Backend.IO_URING) {
            setOf("ioqueue.ring.kept", "ioqueue.ring.enters", "ioqueue.ring.submissions", "ioqueue.ring.completions")
        } else {
            emptySet()
        }
    }

    test("a group's queues get one set of meters each, told apart by their queue tag") {
        val registry = SimpleMeterRegistry()
        IoQueueGroup.start(2, "metrics").use { group ->
            IoQueueMetrics.of(group).bindTo(registry)
            val ran = CountDownLatch(5)
            repeat(2) { group.queues()[0].execute { ran.countDown() } }
            repeat(3) { group.queues()[1].execute { ran.countDown() } }
            ran.await(10, TimeUnit.SECONDS) shouldBe true
            registry.get("ioqueue.tasks").tag("queue", "metrics-0").functionCounter().count() shouldBe 2.0
            registry.get("ioqueue.tasks").tag("queue", "metrics-1").functionCounter().count() shouldBe 3.0
            registry.get("ioqueue.tasks").functionCounters().size shouldBe 2
        }
    }
})
