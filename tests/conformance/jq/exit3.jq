halt_error(3)
