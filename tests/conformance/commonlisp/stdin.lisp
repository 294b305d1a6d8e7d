(loop for char = (read-char *standard-input* nil nil)
      while char
      do (write-char char))
