count = 0
say "average:" 100 / count
