local M = {}

function M.greeting()
  return "Hello from a module"
end

return M
