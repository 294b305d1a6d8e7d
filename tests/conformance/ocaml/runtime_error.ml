let () =
  let a = [| 1; 2; 3 |] in
  print_int a.(10)
