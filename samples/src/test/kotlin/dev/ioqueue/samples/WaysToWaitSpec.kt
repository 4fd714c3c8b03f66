package dev.ioqueue.samples

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe

class WaysToWaitSpec : FunSpec({
    test("a callback, a virtual thread, a future and a loop group each read the pipe") {
        onLoopThread { WaysToWait.runAll() } shouldBe "2 2 [READ] 2"
    }
})
