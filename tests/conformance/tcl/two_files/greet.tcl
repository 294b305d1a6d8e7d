proc greeting {} {
    return "Hello from a module"
}
