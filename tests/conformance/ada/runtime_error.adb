with Ada.Text_IO;

procedure Main is
   subtype Small is Integer range 1 .. 10;
   N : Small := 10;
begin
   N := N + Integer'Value ("1");
   Ada.Text_IO.Put_Line (Small'Image (N));
end Main;
