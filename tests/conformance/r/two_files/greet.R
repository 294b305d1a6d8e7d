greet <- function() {
    cat("Hello from a module\n")
}
