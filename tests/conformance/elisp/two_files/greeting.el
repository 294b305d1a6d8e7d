(defun greeting ()
  "Hello from a module")

(provide 'greeting)
