package main

func greeting() string {
	return "Hello from a module"
}
