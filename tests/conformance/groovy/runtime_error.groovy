def xs = [1, 2, 3]
println xs.get(xs.size() + 1)
