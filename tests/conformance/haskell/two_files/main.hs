module Main where

import Greeting (greeting)

main :: IO ()
main = putStrLn greeting
