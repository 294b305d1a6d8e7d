value = String.to_integer("not a number")
IO.puts(value)
