-module(greeting).
-export([message/0]).

message() ->
    "Hello from a module".
