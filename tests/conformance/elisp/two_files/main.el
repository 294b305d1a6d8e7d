(add-to-list 'load-path default-directory)
(require 'greeting)

(princ (concat (greeting) "\n"))
