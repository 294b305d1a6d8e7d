/* Copy standard input to standard output unchanged. */
signal on notready
do forever
  c = charin()
  call charout , c
end

notready:
  exit 0
