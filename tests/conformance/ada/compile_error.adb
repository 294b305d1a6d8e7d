with Ada.Text_IO;

procedure Main is
   N : Integer := "not a number";
begin
   Ada.Text_IO.Put_Line (Integer'Image (N));
end Main;
