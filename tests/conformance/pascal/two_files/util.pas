unit Util;

interface

function Greeting: String;

implementation

function Greeting: String;
begin
  Greeting := 'Hello from a module';
end;

end.
