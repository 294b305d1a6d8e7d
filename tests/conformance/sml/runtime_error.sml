fun average (xs : int list) = foldl op+ 0 xs div length xs;

val () = print (Int.toString (average []) ^ "\n");
