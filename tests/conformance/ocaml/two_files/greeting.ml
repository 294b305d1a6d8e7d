let message = "Hello from a module"
