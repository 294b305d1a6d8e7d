with Ada.Text_IO;
with Util;

procedure Main is
begin
   Ada.Text_IO.Put_Line (Util.Greeting);
end Main;
