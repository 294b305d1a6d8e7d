program Missing;
{$mode objfpc}
uses SysUtils;
var
  n: Integer;
begin
  n := StrToInt('not a number');
  WriteLn(n);
end.
