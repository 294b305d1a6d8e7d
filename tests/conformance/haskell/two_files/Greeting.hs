module Greeting (greeting) where

greeting :: String
greeting = "Hello from a module"
