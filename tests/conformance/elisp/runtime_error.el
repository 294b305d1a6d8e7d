(princ (car 42))
