while not eof(0)
  line input "" a$
  print a$
wend
