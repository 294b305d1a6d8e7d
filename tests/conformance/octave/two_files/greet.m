function greet()
  printf("Hello from a module\n");
end
