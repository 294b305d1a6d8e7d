fun main() {
    val xs = listOf(1, 2, 3)
    println(xs[xs.size + 1])
}
