(load "greeting.lisp")

(write-line (greeting))
