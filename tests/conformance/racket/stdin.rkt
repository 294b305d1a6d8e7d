#lang racket/base
(require racket/port)

(write-string (port->string (current-input-port)))
