print(1 + undefined_variable)
