function greeting() {
    return "Hello from a module"
}
