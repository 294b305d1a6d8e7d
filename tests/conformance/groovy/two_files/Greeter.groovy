class Greeter {
    static String greeting() {
        "Hello from a module"
    }
}
