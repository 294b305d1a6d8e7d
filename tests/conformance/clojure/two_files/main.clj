(ns main
  (:require [greeter]))

(println (greeter/greeting))
