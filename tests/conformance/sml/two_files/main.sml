use "greeting.sml";

val () = print (Greeting.message ^ "\n");
