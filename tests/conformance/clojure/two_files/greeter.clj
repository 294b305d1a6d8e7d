(ns greeter)

(defn greeting []
  "Hello from a module")
