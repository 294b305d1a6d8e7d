proc greeting*(): string =
  "Hello from a module"
