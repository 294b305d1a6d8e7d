program Broken;
var
  n: Integer;
begin
  n := 'not a number';
  WriteLn(n);
end.
