program Main;
uses Util;
begin
  WriteLn(Greeting);
end.
