package dev.ioqueue.samples

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe

class ReadmeExamplesSpec : FunSpec({
    test("the README's Java example prints what it read") {
        onLoopThread { printed { ReadmeExample.main(arrayOf()) } } shouldBe "read 2 bytes: hi"
    }

    test("the README's Kotlin example prints what it read") {
        onLoopThread { printed { readmeKotlinExample() } } shouldBe "2 bytes: hi"
    }
})
