/* greeting: an external function */
return "Hello from a module"
