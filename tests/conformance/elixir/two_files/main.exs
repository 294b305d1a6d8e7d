IO.puts(Greeting.message())
