object Greeter {
  def greeting: String = "Hello from a module"
}
