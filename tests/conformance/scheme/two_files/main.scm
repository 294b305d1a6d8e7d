(load "greeting.scm")

(display (greeting))
(newline)
