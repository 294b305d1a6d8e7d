;; read-from-minibuffer reads one line of stdin in batch mode and signals
;; an error at end of input.
(let (line)
  (while (setq line (condition-case nil
                        (read-from-minibuffer "")
                      (error nil)))
    (princ line)
    (princ "\n")))
