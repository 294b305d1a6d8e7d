n = "not a number".to_i
puts n
