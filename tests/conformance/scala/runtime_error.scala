object Main {
  def main(args: Array[String]): Unit = {
    val xs = List(1, 2, 3)
    println(xs(xs.length + 1))
  }
}
