config = { name: "demo" }
puts config[:port].succ
