fun greeting(): String = "Hello from a module"
