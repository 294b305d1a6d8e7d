pub fn greeting() -> &'static str {
    "Hello from a module"
}
