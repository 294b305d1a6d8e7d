program ExitThree;
begin
  Halt(3);
end.
