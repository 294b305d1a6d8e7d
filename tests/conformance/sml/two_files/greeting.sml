structure Greeting =
struct
  val message = "Hello from a module"
end;
