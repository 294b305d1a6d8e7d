def greeting():
    return "Hello from a module"
