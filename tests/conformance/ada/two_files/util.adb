package body Util is
   function Greeting return String is
   begin
      return "Hello from a module";
   end Greeting;
end Util;
