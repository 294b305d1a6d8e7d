(defun greeting () "Hello from a module")
