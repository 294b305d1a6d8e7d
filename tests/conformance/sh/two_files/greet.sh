greeting() {
    echo "Hello from a module"
}
