package dev.ioqueue.samples

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldStartWith
import java.nio.file.Files

class ForeignFdsSpec : FunSpec({
    test("a blocking device fd and a child's FIFO are read with IoOperations once made non-blocking") {
        val dir = Files.createTempDirectory("ioqueue-foreign")
        val report = onLoopThread { ForeignFds.run(dir) }
        Files.delete(dir)
        report.deviceWasBlocking shouldBe true
        report.randomBytes shouldBe 16
        report.fromChild shouldStartWith "hello from pid "
        report.childExit shouldBe 0
    }
})
