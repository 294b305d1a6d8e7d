import std/strutils

let n = parseInt("not a number")
echo n
