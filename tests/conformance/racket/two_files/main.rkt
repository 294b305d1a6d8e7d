#lang racket/base
(require "greeting.rkt")

(displayln (greeting))
