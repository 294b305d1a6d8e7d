#lang racket/base
(provide greeting)

(define (greeting)
  "Hello from a module")
