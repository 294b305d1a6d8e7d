source("greet.R")
greet()
