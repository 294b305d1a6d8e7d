n : Int32 = "not a number"
puts n
