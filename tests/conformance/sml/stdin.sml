val () = print (TextIO.inputAll TextIO.stdIn);
