package Util is
   function Greeting return String;
end Util;
