(define (greeting) "Hello from a module")
