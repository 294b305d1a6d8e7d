let () = print_endline Greeting.message
