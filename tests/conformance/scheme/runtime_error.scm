(display (car (list)))
(newline)
