defmodule Greeting do
  def message, do: "Hello from a module"
end
