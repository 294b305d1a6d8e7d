#lang racket/base
(displayln (car (list)))
