module Util
  def self.greeting : String
    "Hello from a module"
  end
end
