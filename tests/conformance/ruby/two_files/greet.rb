def greeting
  "Hello from a module"
end
