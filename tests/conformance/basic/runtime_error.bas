dim a(3)
for i = 1 to 5
  a(i) = i
next i
