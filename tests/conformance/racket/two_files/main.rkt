#lang racket/base
(require "greet.rkt")

(displayln (greeting))
