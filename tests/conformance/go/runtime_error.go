package main

import "fmt"

func main() {
	var xs []int
	i := 5
	fmt.Println(xs[i])
}
